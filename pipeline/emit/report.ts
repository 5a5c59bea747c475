/**
 * Writes a report's published data into reports/<report>/:
 *
 *   report.json                      settings, headline metrics, models, provenance
 *   figures/<figure>/meta.json       title, caption, files (with SHA-256), provenance
 *   figures/<figure>/figure.svg …    the files the figure job rendered (and figure.png for every figure)
 *   models/<model>.safetensors       trained weights: the plan's models and every model a figure used
 *
 * The folder is staged and swapped in whole, so the site never reads a half-written report.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../cache/artifact.ts';
import { codeVersion } from '../cache/code-version.ts';
import type { Job, JobRunner } from '../cache/runner.ts';
import type { ProfileName } from '../profiles.ts';
import type { FigurePlan, Metric, ReportPlan, ReportSpec } from '../reports/spec.ts';
import { modelMeta } from '../train/job.ts';
import { sha256 } from '../util/hash.ts';
import { makeStagingDirectory, replaceDirectory } from '../util/fs.ts';
import { FIGURE_FILES } from '../figures/job.ts';
import { encodeSafetensors } from './safetensors.ts';
import { describeModel, figureModelIds, publishedModels, type PublishedModel } from './models.ts';
import { previewJob } from './preview.ts';
import {
  figureMetaSchema,
  reportMetaSchema,
  type FileEntry,
  type FigureMeta,
  type Provenance,
  type ReportMeta,
} from './schema.ts';

export interface EmitContext {
  outDir: string;
  /** Report ids in the pipeline's order (for each report's `order`). */
  reportOrder: string[];
  profile: ProfileName;
  runner: JobRunner;
}

const ROLES: Record<string, FileEntry['role']> = {
  [FIGURE_FILES.svg]: 'figure',
  [FIGURE_FILES.png]: 'png',
  [FIGURE_FILES.vegaLite]: 'vega-lite',
  [FIGURE_FILES.data]: 'data-json',
  [FIGURE_FILES.csv]: 'data-csv',
};

/** The command that regenerates one report or figure, as the README documents it. */
export function regenerateCommand(profile: ProfileName, only: string): string {
  return `npm run pipeline -- --profile ${profile} --only ${only}`;
}

export async function emitReport(ctx: EmitContext, report: ReportSpec, plan: ReportPlan): Promise<ReportMeta> {
  // Every job runs before anything is written, so an interrupted build leaves reports/ as it was.
  // All are requested at once: independent jobs then run concurrently (in worker threads, if any).
  const published = publishedModels(report.id, plan, ctx.runner);
  const get = async <T extends { id: string; job: Job }>(items: T[]) => Promise.all(items.map(async (item) => [item, await ctx.runner.get(item.job)] as const));
  const [modelList, analysisList, figures] = await Promise.all([get(published), get(plan.analyses ?? []), Promise.all(plan.figures.map((f) => renderFigure(ctx, f)))]);
  const models = Object.fromEntries(modelList.map(([m, a]) => [m.id, a]));
  const analyses = Object.fromEntries(analysisList.map(([m, a]) => [m.id, a]));
  const weights = Object.fromEntries(published.map((m) => [m.id, weightsFile(report, m.id, models[m.id]!)]));
  const described = published.map((m) => ({ ...m, description: m.description || describeModel(models[m.id]!) }));
  const meta = reportMetaSchema.parse(reportMeta(ctx, report, plan, described, models, weights, analyses, figures[0]?.[1]));
  const staging = makeStagingDirectory(ctx.outDir, report.id);
  try {
    for (const [figure, result] of figures) {
      writeFigure(ctx, report, figure, result, join(staging, 'figures', figure.id), figureModels(ctx, figure, published, models, weights));
    }
    mkdirSync(join(staging, 'models'), { recursive: true });
    for (const m of published) {
      writeFileSync(join(staging, 'models', `${m.id}.safetensors`), weights[m.id]!);
    }
    writeFileSync(join(staging, 'report.json'), `${JSON.stringify(meta, null, 2)}\n`);
    replaceDirectory(staging, join(ctx.outDir, report.id));
    return meta;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Emits one figure alone (for --only report/figure), replacing just its folder. Its models are
 * listed by id; their weights files are those of the last whole-report build.
 */
export async function emitFigure(ctx: EmitContext, report: ReportSpec, figure: FigurePlan, plan: ReportPlan): Promise<void> {
  const [, result] = await renderFigure(ctx, figure);
  const published = publishedModels(report.id, plan, ctx.runner).filter((m) => figureModelIds(figure.job, [m], ctx.runner).length > 0);
  const models = Object.fromEntries(await Promise.all(published.map(async (m) => [m.id, await ctx.runner.get(m.job)] as const)));
  const weights = Object.fromEntries(published.map((m) => [m.id, weightsFile(report, m.id, models[m.id]!)]));
  const staging = makeStagingDirectory(ctx.outDir, `${report.id}-${figure.id}`);
  try {
    writeFigure(ctx, report, figure, result, staging, figureModels(ctx, figure, published, models, weights));
    replaceDirectory(staging, join(ctx.outDir, report.id, 'figures', figure.id));
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** A figure's artifact, with figure.png added (rasterised from its SVG) when it has none. */
async function renderFigure(ctx: EmitContext, figure: FigurePlan): Promise<readonly [FigurePlan, Artifact]> {
  const result = await ctx.runner.get(figure.job);
  if (result.files[FIGURE_FILES.png]) return [figure, result] as const;
  const preview = await ctx.runner.get(previewJob(figure.job));
  return [figure, { ...result, files: { ...result.files, ...preview.files } }] as const;
}

/** The published models a figure was made from, as its meta.json lists them. */
function figureModels(
  ctx: EmitContext,
  figure: FigurePlan,
  published: PublishedModel[],
  models: Record<string, Artifact>,
  weights: Record<string, Uint8Array>,
): FigureMeta['models'] {
  return figureModelIds(figure.job, published, ctx.runner).map((id) => ({
    id,
    file: `${id}.safetensors`,
    sha256: sha256(weights[id]!),
    configHash: ctx.runner.key(published.find((m) => m.id === id)!.job),
    seed: modelMeta(models[id]!).settings.seed,
    dataName: modelMeta(models[id]!).provenance.dataName,
    dataHash: modelMeta(models[id]!).provenance.dataHash,
  }));
}

function writeFigure(ctx: EmitContext, report: ReportSpec, figure: FigurePlan, result: Artifact, dir: string, models: FigureMeta['models']): void {
  mkdirSync(dir, { recursive: true });
  // Name order: the same files list whether the artifact was just built or read from the cache.
  const files: FileEntry[] = Object.entries(result.files).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, bytes]) => {
    writeFileSync(join(dir, name), bytes);
    const role = ROLES[name] ?? (name.endsWith('.svg') ? 'page-figure' : 'data-json');
    return { name, role, bytes: bytes.length, sha256: sha256(bytes) };
  });
  const svg = Buffer.from(result.files[FIGURE_FILES.svg]!).toString('utf8');
  const meta: FigureMeta = {
    id: figure.id,
    report: report.id,
    title: figure.title,
    caption: figure.caption,
    kind: result.meta['kind'] as FigureMeta['kind'],
    alt: String(result.meta['alt']),
    ...svgSize(svg, `${report.id}/${figure.id}`),
    files,
    pages: (result.meta['pages'] as FigureMeta['pages'] | undefined) ?? [],
    models,
    provenance: provenance(ctx, result.meta['provenance'], ctx.runner.key(figure.job), `${report.id}/${figure.id}`),
  };
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(figureMetaSchema.parse(meta), null, 2)}\n`);
}

function reportMeta(
  ctx: EmitContext,
  report: ReportSpec,
  plan: ReportPlan,
  published: PublishedModel[],
  models: Record<string, Artifact>,
  weights: Record<string, Uint8Array>,
  analyses: Record<string, Artifact>,
  firstFigure?: Artifact,
): ReportMeta {
  // The report's provenance is its first model's; a report without models takes its first figure's.
  const first = plan.models[0];
  const upstream = first ? modelMeta(models[first.id]!).provenance : firstFigure?.meta['provenance'];
  const key = first ? ctx.runner.key(first.job) : ctx.runner.key(plan.figures[0]!.job);
  return {
    id: report.id,
    order: Math.max(0, ctx.reportOrder.indexOf(report.id)),
    title: report.title,
    summary: report.summary,
    profile: ctx.profile,
    settings: plan.settings,
    metrics: Object.fromEntries(
      // The plan's metrics see its own models and analyses (a published sweep model may share an analysis id).
      Object.entries(plan.metrics({ ...Object.fromEntries(plan.models.map((m) => [m.id, models[m.id]!])), ...analyses })).map(([name, m]) => [name, { label: m.label, value: m.value, format: m.format, digits: m.digits, display: displayMetric(m) }]),
    ),
    figures: plan.figures.map((f) => f.id),
    models: published.map((m) => {
      const bytes = weights[m.id]!;
      return {
        id: m.id,
        description: m.description,
        file: { name: `${m.id}.safetensors`, role: 'weights' as const, bytes: bytes.length, sha256: sha256(bytes) },
        tensors: Object.entries(models[m.id]!.tensors)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
      };
    }),
    provenance: provenance(ctx, upstream, key, report.id),
  };
}

function weightsFile(report: ReportSpec, id: string, model: Artifact): Uint8Array {
  const m = modelMeta(model);
  return encodeSafetensors(model.tensors, {
    format: 'bilinear-reports/bilinear-classifier',
    report: report.id,
    model: id,
    layout: 'e = E x (E: d×in, optional); h = (W e) * (V e) (W, V: m×d); logits = P h (P: c×m); no biases',
    shape: JSON.stringify(m.shape),
    settings: JSON.stringify(m.settings),
    testAccuracy: String(m.testAccuracy),
    dataHash: m.provenance.dataHash,
    backend: m.provenance.backend,
  });
}

function provenance(ctx: EmitContext, upstream: unknown, configHash: string, only: string): Provenance {
  const p = upstream as Omit<Provenance, 'configHash' | 'codeVersion' | 'profile' | 'command'> & { figureCode?: string };
  return {
    configHash,
    dataName: p.dataName,
    dataSource: p.dataSource,
    dataHash: p.dataHash,
    seed: p.seed,
    backend: p.backend,
    backendDetail: p.backendDetail,
    tfjsVersion: p.tfjsVersion,
    codeVersion: {
      data: codeVersion('data'),
      train: codeVersion('train'),
      decompose: codeVersion('decompose'),
      ...(p.figureCode ? { figure: p.figureCode } : {}),
    },
    profile: ctx.profile,
    command: regenerateCommand(ctx.profile, only),
  };
}

export function displayMetric(m: Metric): string {
  if (!Number.isFinite(m.value)) throw new Error(`metric '${m.label}' is ${m.value}; refusing to publish it`);
  if (m.text !== undefined) return m.text;
  return m.format === 'percent' ? `${(m.value * 100).toFixed(m.digits)}%` : m.value.toFixed(m.digits);
}

function svgSize(svg: string, where: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\bwidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error(`figure ${where}: its SVG has no width and height`);
  return { width, height };
}
