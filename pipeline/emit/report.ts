/**
 * Writes a report's published data into reports/<report>/:
 *
 *   report.json                      settings, headline metrics, models, provenance
 *   figures/<figure>/meta.json       title, caption, files (with SHA-256), provenance
 *   figures/<figure>/figure.svg …    the files the figure job rendered (and figure.png for every figure)
 *   models/<model>.safetensors       trained weights: the plan's models and every model a figure used
 *   models/<model>.<ext>             the same as the kind's checkpoint file, where the plan asks
 *   timings.json                     what each job took to build here (the one file that varies
 *                                    between builds)
 *
 * The folder is staged and swapped in whole, so the site never reads a half-written report.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus as cpuList } from 'node:os';
import { join } from 'node:path';
import type { Artifact, Json } from '../cache/artifact.ts';
import { codeVersion } from '../cache/code-version.ts';
import { walkJobs, type Job } from '../cache/job.ts';
import type { JobRunner } from '../cache/runner.ts';
import type { ProfileName } from '../profiles.ts';
import type { FigurePlan, Metric, ReportPlan, ReportSpec } from '../reports/spec.ts';
import { modelKind } from '../models/kind.ts';
import { modelWeights, type ModelMeta } from '../train/job.ts';
import { hashJson, sha256 } from '../util/hash.ts';
import { describeFsError, makeStagingDirectory, replaceDirectory } from '../util/fs.ts';
import { PipelineError } from '../errors.ts';
import { FIGURE_FILES, type FigureMeta as FigureArtifactMeta } from '../figures/job.ts';
import { encodeSafetensors } from '../tensors/safetensors.ts';
import { describeModel, figureModelIds, publishedModels, type PublishedModel } from './models.ts';
import { previewJob } from './preview.ts';
import { checkPublishableFigure, checkPublishableWeights } from './verify.ts';
import {
  figureMetaSchema,
  reportMetaSchema,
  timingsSchema,
  type FileEntry,
  type Timings,
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
  /** Worker threads of this build (for timings.json). */
  workers: number;
}

const ROLES: Record<string, FileEntry['role']> = {
  [FIGURE_FILES.svg]: 'figure',
  [FIGURE_FILES.narrow]: 'figure-narrow',
  [FIGURE_FILES.png]: 'png',
  [FIGURE_FILES.vegaLite]: 'vega-lite',
  [FIGURE_FILES.data]: 'data-json',
  [FIGURE_FILES.csv]: 'data-csv',
};

/** The command that regenerates one report or figure, as the README documents it. */
export function regenerateCommand(profile: ProfileName, only: string): string {
  return `npm run pipeline -- --profile ${profile} --only ${only}`;
}

export async function emitReport(
  ctx: EmitContext,
  report: ReportSpec,
  plan: ReportPlan,
): Promise<ReportMeta> {
  // Every job runs before anything is written, so an interrupted build leaves reports/ as it was.
  // All are requested at once: independent jobs then run concurrently (in worker threads, if any).
  const published = publishedModels(report.id, plan, ctx.runner);
  const [modelList, analysisList, figures] = await Promise.all([
    Promise.all(published.map(async (m) => [m, await ctx.runner.get(m.job)] as const)),
    Promise.all((plan.analyses ?? []).map(async (a) => [a, await ctx.runner.get(a.job)] as const)),
    Promise.all(plan.figures.map((f) => renderFigure(ctx, report.id, f))),
  ]);
  const models = Object.fromEntries(modelList.map(([m, a]) => [m.id, a]));
  const read = reader(ctx.runner, [...modelList, ...analysisList]);
  const weights = Object.fromEntries(published.map((m) => [m.id, weightsFile(report, m.id, models[m.id]!)]));
  const checkpoints = Object.fromEntries(
    published.filter((m) => m.checkpoint).map((m) => [m.id, checkpointFile(report, m.id, models[m.id]!)]),
  );
  const described = published.map((m) => ({
    ...m,
    description: m.description || describeModel(models[m.id]!),
  }));
  const meta = reportMetaSchema.parse(
    await reportMeta(ctx, report, plan, described, models, weights, checkpoints, read),
  );
  const staging = makeStagingDirectory(ctx.outDir, report.id);
  try {
    for (const [figure, result, figureProvenance] of figures) {
      writeFigure(
        report,
        figure,
        result,
        join(staging, 'figures', figure.id),
        figureModels(ctx, figure, published, models, weights),
        figureProvenance,
      );
    }
    mkdirSync(join(staging, 'models'), { recursive: true });
    for (const m of published) {
      writeFileSync(join(staging, 'models', `${m.id}.safetensors`), weights[m.id]!);
      const checkpoint = checkpoints[m.id];
      if (checkpoint) writeFileSync(join(staging, 'models', checkpoint.name), checkpoint.bytes);
    }
    writeFileSync(join(staging, 'report.json'), `${JSON.stringify(meta, null, 2)}\n`);
    const jobs = [
      ...published.map((m) => m.job),
      ...(plan.analyses ?? []).map((a) => a.job),
      ...plan.figures.map((f) => f.job),
    ];
    writeFileSync(
      join(staging, 'timings.json'),
      `${JSON.stringify(timings(ctx, report.id, jobs), null, 2)}\n`,
    );
    replaceDirectory(staging, join(ctx.outDir, report.id));
    return meta;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw writeError(error, `report ${report.id}`, ctx.outDir);
  }
}

/** What each job upstream of a report took to build, from its cache entry, by stage and label. */
function timings(ctx: EmitContext, reportId: string, roots: Job[]): Timings {
  const jobs = new Map<string, Timings['jobs'][number]>();
  for (const job of walkJobs(roots)) {
    const seconds = ctx.runner.seconds(job);
    if (seconds !== null)
      jobs.set(ctx.runner.key(job), { label: job.label, stage: job.stage, kind: job.kind, seconds });
  }
  const cpus = cpuList();
  return timingsSchema.parse({
    report: reportId,
    machine: {
      cpus: cpus.length,
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      node: process.version,
      workers: ctx.workers,
    },
    jobs: [...jobs.values()].sort((a, b) => a.stage.localeCompare(b.stage) || a.label.localeCompare(b.label)),
  });
}

/**
 * Emits one figure alone (for --only report/figure), replacing just its folder. Its models are
 * listed by id; their weights files are those of the last whole-report build.
 */
export async function emitFigure(
  ctx: EmitContext,
  report: ReportSpec,
  figure: FigurePlan,
  plan: ReportPlan,
): Promise<void> {
  const [, result, figureProvenance] = await renderFigure(ctx, report.id, figure);
  const published = publishedModels(report.id, plan, ctx.runner).filter(
    (m) => figureModelIds(figure.job, [m], ctx.runner).length > 0,
  );
  const models = Object.fromEntries(
    await Promise.all(published.map(async (m) => [m.id, await ctx.runner.get(m.job)] as const)),
  );
  const weights = Object.fromEntries(published.map((m) => [m.id, weightsFile(report, m.id, models[m.id]!)]));
  const staging = makeStagingDirectory(ctx.outDir, `${report.id}-${figure.id}`);
  try {
    writeFigure(
      report,
      figure,
      result,
      staging,
      figureModels(ctx, figure, published, models, weights),
      figureProvenance,
    );
    replaceDirectory(staging, join(ctx.outDir, report.id, 'figures', figure.id));
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw writeError(error, `figure ${report.id}/${figure.id}`, ctx.outDir);
  }
}

/**
 * A file-system error while writing `what` into `outDir`, in one line that names the folder (ENOSPC names
 * none).
 */
function writeError(error: unknown, what: string, outDir: string): unknown {
  if (error instanceof PipelineError || !(error as NodeJS.ErrnoException).code) return error;
  return new PipelineError(`cannot write ${what} into ${outDir}: ${describeFsError(error)}`, {
    cause: error,
    hint: 'free space there, or give --out another directory',
  });
}

/** A figure's artifact, with figure.png added (rasterised from its SVG) when it has none. */
async function renderFigure(
  ctx: EmitContext,
  reportId: string,
  figure: FigurePlan,
): Promise<readonly [FigurePlan, Artifact<FigureArtifactMeta>, Provenance]> {
  const [result, figureProvenance] = await Promise.all([
    ctx.runner.get(figure.job),
    provenance(ctx, [figure.job], ctx.runner.key(figure.job), `${reportId}/${figure.id}`),
  ]);
  if (result.files[FIGURE_FILES.png]) return [figure, result, figureProvenance] as const;
  const preview = await ctx.runner.get(previewJob(figure.job));
  return [figure, { ...result, files: { ...result.files, ...preview.files } }, figureProvenance] as const;
}

/** Reads the artifact of a job the plan lists (its models and analyses), for the headline metrics. */
function reader(
  runner: JobRunner,
  resolved: (readonly [{ job: Job }, Artifact])[],
): <M>(job: Job<M>) => Artifact<M> {
  const byKey = new Map(resolved.map(([item, a]) => [runner.key(item.job), a]));
  return <M>(job: Job<M>) => {
    const a = byKey.get(runner.key(job));
    if (!a)
      throw new Error(
        `a metric reads ${job.stage} ${job.label}, which the plan lists neither ` +
          `as a model nor as an analysis`,
      );
    return a as Artifact<M>;
  };
}

/** The published models a figure was made from, as its meta.json lists them. */
function figureModels(
  ctx: EmitContext,
  figure: FigurePlan,
  published: PublishedModel[],
  models: Record<string, Artifact<ModelMeta>>,
  weights: Record<string, Uint8Array>,
): FigureMeta['models'] {
  return figureModelIds(figure.job, published, ctx.runner).map((id) => ({
    id,
    file: `${id}.safetensors`,
    sha256: sha256(weights[id]!),
    configHash: ctx.runner.key(published.find((m) => m.id === id)!.job),
    seed: models[id]!.meta.settings.seed,
    dataName: models[id]!.meta.provenance.dataName,
    dataHash: models[id]!.meta.provenance.dataHash,
  }));
}

function writeFigure(
  report: ReportSpec,
  figure: FigurePlan,
  result: Artifact<FigureArtifactMeta>,
  dir: string,
  models: FigureMeta['models'],
  figureProvenance: Provenance,
): void {
  checkPublishableFigure(result.files, `${report.id}/figures/${figure.id}`);
  mkdirSync(dir, { recursive: true });
  // Name order: the same files list whether the artifact was just built or read from the cache.
  const files: FileEntry[] = Object.entries(result.files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, bytes]) => {
      writeFileSync(join(dir, name), bytes);
      const role = Object.hasOwn(ROLES, name)
        ? ROLES[name]!
        : name.endsWith('.svg')
          ? 'page-figure'
          : 'data-json';
      return { name, role, bytes: bytes.length, sha256: sha256(bytes) };
    });
  const svg = Buffer.from(result.files[FIGURE_FILES.svg]!).toString('utf8');
  const narrow = result.files[FIGURE_FILES.narrow];
  const meta: FigureMeta = {
    id: figure.id,
    report: report.id,
    title: figure.title,
    caption: figure.caption,
    kind: result.meta.kind,
    alt: result.meta.alt,
    ...(result.meta.html ? { html: result.meta.html } : {}),
    ...svgSize(svg, `${report.id}/${figure.id}`),
    ...(narrow
      ? { narrow: svgSize(Buffer.from(narrow).toString('utf8'), `${report.id}/${figure.id} (narrow)`) }
      : {}),
    files,
    pages: result.meta.pages,
    models,
    provenance: figureProvenance,
  };
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(figureMetaSchema.parse(meta), null, 2)}\n`);
}

async function reportMeta(
  ctx: EmitContext,
  report: ReportSpec,
  plan: ReportPlan,
  published: PublishedModel[],
  models: Record<string, Artifact<ModelMeta>>,
  weights: Record<string, Uint8Array>,
  checkpoints: Record<string, Checkpoint>,
  read: <M>(job: Job<M>) => Artifact<M>,
): Promise<ReportMeta> {
  // The report's provenance covers every job it publishes: its models, analyses and figures.
  const jobs = [
    ...plan.models.map((m) => m.job),
    ...(plan.analyses ?? []).map((a) => a.job),
    ...plan.figures.map((f) => f.job),
  ];
  const key = hashJson(jobs.map((j) => ctx.runner.key(j)));
  return {
    id: report.id,
    order: Math.max(0, ctx.reportOrder.indexOf(report.id)),
    title: report.title,
    summary: report.summary,
    profile: ctx.profile,
    settings: plan.settings,
    metrics: Object.fromEntries(
      Object.entries(plan.metrics(read)).map(([name, m]) => [
        name,
        {
          label: m.label,
          value: m.value,
          format: m.format,
          digits: m.digits,
          display: displayMetric(m),
          ...(m.interval ? { interval: { ...m.interval, ...intervalWords(m) } } : {}),
        },
      ]),
    ),
    figures: plan.figures.map((f) => f.id),
    models: published.map((m) => {
      const bytes = weights[m.id]!;
      return {
        id: m.id,
        description: m.description,
        file: {
          name: `${m.id}.safetensors`,
          role: 'weights' as const,
          bytes: bytes.length,
          sha256: sha256(bytes),
        },
        ...(checkpoints[m.id]
          ? {
              checkpoint: {
                name: checkpoints[m.id]!.name,
                role: 'checkpoint' as const,
                bytes: checkpoints[m.id]!.bytes.length,
                sha256: sha256(checkpoints[m.id]!.bytes),
                format: checkpoints[m.id]!.format,
              },
            }
          : {}),
        tensors: Object.entries(models[m.id]!.tensors)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
      };
    }),
    provenance: await provenance(ctx, jobs, key, report.id),
  };
}

type Checkpoint = { name: string; format: string; bytes: Uint8Array };

/** The model as its kind's checkpoint file, or an error naming the report and model. */
function checkpointFile(report: ReportSpec, id: string, model: Artifact<ModelMeta>): Checkpoint {
  const m = model.meta;
  const kind = modelKind(m.model.kind);
  const where = `report '${report.id}' (pipeline/reports/${report.id}.ts), model '${id}'`;
  if (!kind.checkpoint)
    throw new PipelineError(`${where}: a ${kind.name} model has no checkpoint format to publish`, {
      exitCode: 2,
    });
  checkPublishableWeights(model, `${report.id}/models/${id}.${kind.checkpoint.extension}`);
  return {
    name: `${id}.${kind.checkpoint.extension}`,
    format: kind.checkpoint.describe,
    bytes: kind.checkpoint.write(m.model.shape, modelWeights(model)),
  };
}

/** The published weights file: the model's tensors, and what its kind says of them. */
function weightsFile(report: ReportSpec, id: string, model: Artifact<ModelMeta>): Uint8Array {
  checkPublishableWeights(model, `${report.id}/models/${id}.safetensors`);
  const m = model.meta;
  return encodeSafetensors(model.tensors, {
    format: `bilinear-reports/${m.model.kind}`,
    report: report.id,
    model: id,
    layout: modelKind(m.model.kind).layoutText,
    shape: JSON.stringify(m.model.shape),
    task: m.task,
    settings: JSON.stringify(m.settings),
    testMetrics: JSON.stringify(m.final.test),
    dataHash: m.provenance.dataHash,
    backend: m.provenance.backend,
  });
}

/**
 * Provenance of what `jobs` made, from the job graph itself: every training run upstream (its
 * data set, seed and backend; several for a sweep), or, with no training upstream, every data
 * job; the code version of each stage's jobs upstream; the command that regenerates it.
 */
async function provenance(
  ctx: EmitContext,
  jobs: Job[],
  configHash: string,
  only: string,
): Promise<Provenance> {
  const upstream = walkJobs(jobs);
  // Training runs: the train stage's jobs that record provenance (not imports or evaluations).
  const trained = upstream.filter((j) => j.stage === 'train') as Job<Partial<ModelMeta>>[];
  const runs = (await Promise.all(trained.map((j) => ctx.runner.get(j))))
    .map((a) => a.meta.provenance)
    .filter((p) => p !== undefined);
  const data =
    runs.length > 0
      ? runs.map((r) => ({ name: r.dataName, source: r.dataSource, hash: r.dataHash }))
      : (
          await Promise.all(
            upstream
              .filter((j) => j.stage === 'data')
              .map((j) => ctx.runner.get(j as Job<{ name: string; source: string; hash: string }>)),
          )
        ).map((a) => ({ name: a.meta.name, source: a.meta.source, hash: a.meta.hash }));
  if (data.length === 0)
    throw new Error(
      `${only}: nothing upstream of it is trained or loaded from data; it has no provenance to publish`,
    );
  const datasets = [...new Map(data.map((d) => [d.hash, d])).values()];
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const stages = [...new Set(upstream.map((j) => j.stage))].sort();
  const first = runs[0];
  return {
    configHash,
    dataName: datasets[0]!.name,
    dataSource: datasets[0]!.source,
    dataHash: datasets[0]!.hash,
    datasets,
    seed: seeds[0] ?? 0,
    seeds,
    dataSeeds: Object.fromEntries(
      upstream.filter((j) => j.stage === 'data').flatMap((j) => seedsIn(j.params, '')),
    ),
    backend: first?.backend ?? 'none',
    backendDetail: first?.backendDetail ?? 'no training upstream',
    tfjsVersion: first?.tfjsVersion ?? 'none',
    codeVersion: Object.fromEntries(
      stages.map((stage) => [
        stage,
        codeVersion([...new Set(upstream.filter((j) => j.stage === stage).flatMap((j) => j.modules))]),
      ]),
    ),
    profile: ctx.profile,
    command: regenerateCommand(ctx.profile, only),
  };
}

/** Every number at a key named `seed` in a job's settings, with its dotted path. */
export function seedsIn(value: Json, path: string): [string, number][] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => seedsIn(v, `${path}${path ? '.' : ''}${i}`));
  return Object.entries(value).flatMap(([k, v]) => {
    const at = path ? `${path}.${k}` : k;
    return k === 'seed' && typeof v === 'number' ? [[at, v] as [string, number]] : seedsIn(v, at);
  });
}

export const INTERVAL_METHODS = {
  t: 't interval',
  nested: 't interval of per-unit means of the draws',
  jackknife: 'leave-one-out jackknife interval',
} as const;

/** A metric's interval as prose prints it: "95% interval 45% to 58%, t interval, n = 3 seeds". */
export function displayInterval(m: Metric): string {
  return intervalWords(m).display;
}

/**
 * An interval in words, in the parts prose needs apart: its bounds ("3.5 to 8.5"), and how it was
 * made ("t interval, n = 3 seeds"), which a paragraph or table says once for all its numbers.
 */
export function intervalWords(m: Metric): { display: string; range: string; how: string } {
  const iv = m.interval!;
  if (!(iv.lo <= m.value && m.value <= iv.hi))
    throw new Error(`metric '${m.label}': ${m.value} lies outside its interval [${iv.lo}, ${iv.hi}]`);
  const bound = (value: number) => displayMetric({ ...m, value, interval: undefined });
  const range = `${bound(iv.lo)} to ${bound(iv.hi)}`;
  // `how` is shared by a paragraph's numbers; whether one number's bounds were cut is its own.
  const how = `${INTERVAL_METHODS[iv.method]}, n = ${iv.n} ${iv.unit}`;
  const cut = iv.clipped ? ' cut at the possible range' : '';
  return {
    display: `95% interval ${range}, ${INTERVAL_METHODS[iv.method]}${cut}, n = ${iv.n} ${iv.unit}`,
    range,
    how,
  };
}

export function displayMetric(m: Metric): string {
  if (!Number.isFinite(m.value)) throw new Error(`metric '${m.label}' is ${m.value}; refusing to publish it`);
  if (m.text !== undefined) return m.text;
  const value = m.format === 'percent' ? m.value * 100 : m.value;
  // Thousands grouped (2,576,640); a value that rounds to zero is printed without a sign ("-0.0").
  const text = value
    .toLocaleString('en-US', { minimumFractionDigits: m.digits, maximumFractionDigits: m.digits })
    .replace(/^-(?=[0.,]*$)/, '');
  return m.format === 'percent' ? `${text}%` : text;
}

function svgSize(svg: string, where: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\bwidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error(`figure ${where}: its SVG has no width and height`);
  return { width, height };
}
