/**
 * One pipeline build: choose the backend, plan the selected reports, then emit each report (or
 * the one figure asked for), which pulls every job it needs through the cache.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JobRunner, type RunStats } from './cache/runner.ts';
import { CacheStore } from './cache/store.ts';
import { emitFigure, emitReport } from './emit/report.ts';
import { usageError } from './errors.ts';
import type { ProfileName } from './profiles.ts';
import { REPORTS } from './reports/index.ts';
import { validatePlan, type ReportPlan, type ReportSpec } from './reports/spec.ts';
import { selectBackend, type BackendInfo, type BackendRequest } from './train/backend.ts';
import type { Log } from './util/log.ts';

export interface BuildOptions {
  profile: ProfileName;
  /** `report` or `report/figure`; everything when absent. */
  only?: string;
  force: boolean;
  backend: BackendRequest;
  outDir: string;
  cacheDir: string;
  log: Log;
  /** Only report which jobs are cached and which would be built; build and write nothing. */
  statusOnly?: boolean;
  reports?: ReportSpec[];
}

export interface BuildSummary extends RunStats {
  backend: BackendInfo;
  seconds: number;
  emitted: string[];
}

interface Selection {
  report: ReportSpec;
  plan: ReportPlan;
  figure?: string;
}

export async function build(options: BuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  const reports = options.reports ?? REPORTS;
  checkOnly(reports, options.only); // before anything loads or writes
  const backend = await selectBackend(options.backend);
  const selections = select(reports, options.only, (r) => r.plan(options.profile, backend));
  const cache = new CacheStore(options.cacheDir);
  if (options.statusOnly) return reportStatus(new JobRunner({ cache, log: options.log, force: options.force }), selections, options.log, backend, started);
  const swept = cache.sweepStaging() + sweepStaging(options.outDir);
  if (swept > 0) options.log.info(`removed ${swept} staging folder(s) left by an interrupted build`);
  options.log.info(`profile ${options.profile}, backend ${backend.name} (${backend.detail}), tfjs ${backend.tfjsVersion}`);
  const runner = new JobRunner({ cache, log: options.log, force: options.force });
  const ctx = { outDir: options.outDir, profile: options.profile, runner };
  const emitted: string[] = [];
  for (const { report, plan, figure } of selections) {
    if (figure) {
      await emitFigure(ctx, report, plan.figures.find((f) => f.id === figure)!);
      emitted.push(`${report.id}/${figure}`);
    } else {
      await emitReport(ctx, report, plan);
      emitted.push(report.id);
    }
    options.log.job('emitted', emitted.at(-1)!, join(options.outDir, report.id));
  }
  return { ...runner.stats, backend, seconds: (performance.now() - started) / 1000, emitted };
}

function reportStatus(runner: JobRunner, selections: Selection[], log: Log, backend: BackendInfo, started: number): BuildSummary {
  const jobs = selections.flatMap(({ plan, figure }) => [
    ...(figure ? [] : plan.models.map((m) => m.job)),
    ...plan.figures.filter((f) => !figure || f.id === figure).map((f) => f.job),
  ]);
  const stats = { built: 0, cached: 0 };
  for (const { job, key, cached } of runner.status(jobs)) {
    log.job(cached ? 'cached' : 'missing', `${job.stage} ${job.label}`, key.slice(0, 12));
    if (cached) stats.cached++;
  }
  return { ...stats, backend, seconds: (performance.now() - started) / 1000, emitted: [] };
}

/** Checks the report part of --only without planning anything. */
function checkOnly(reports: ReportSpec[], only: string | undefined): void {
  if (only === undefined) return;
  const [reportId] = only.split('/');
  if (!reports.some((r) => r.id === reportId)) {
    throw usageError(`unknown report '${reportId}' in --only; valid: ${reports.map((r) => r.id).join(', ')}`);
  }
}

function select(reports: ReportSpec[], only: string | undefined, plan: (r: ReportSpec) => ReportPlan): Selection[] {
  const [reportId, figureId, extra] = only?.split('/') ?? [];
  if (extra !== undefined) throw usageError(`--only takes 'report' or 'report/figure', got '${only}'`);
  const chosen = reportId ? reports.filter((r) => r.id === reportId) : reports;
  return chosen.map((report) => {
    const p = plan(report);
    validatePlan(report, p);
    if (figureId !== undefined && !p.figures.some((f) => f.id === figureId)) {
      throw usageError(`unknown figure '${figureId}' in report '${report.id}'; valid: ${p.figures.map((f) => f.id).join(', ')}`);
    }
    return figureId === undefined ? { report, plan: p } : { report, plan: p, figure: figureId };
  });
}

function sweepStaging(outDir: string): number {
  if (!existsSync(outDir)) return 0;
  const leftovers = readdirSync(outDir).filter((name) => name.startsWith('.staging-') || name.startsWith('.old-'));
  for (const name of leftovers) rmSync(join(outDir, name), { recursive: true, force: true });
  return leftovers.length;
}

/** Every figure id, `report/figure`, for --list. */
export function listFigures(profile: ProfileName, backend: BackendInfo, reports = REPORTS): string[] {
  return reports.flatMap((r) => r.plan(profile, backend).figures.map((f) => `${r.id}/${f.id}`));
}
