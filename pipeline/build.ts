/**
 * One pipeline build: choose the backend, plan the selected reports, then emit each report (or
 * the one figure asked for), which pulls every job it needs through the cache.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Job } from './cache/job.ts';
import { JobRunner, type RunStats } from './cache/runner.ts';
import { WorkerPool } from './cache/pool.ts';
import { CacheStore } from './cache/store.ts';
import { emitFigure, emitReport } from './emit/report.ts';
import { InputMissing, OptionalInputMissing, usageError, type PipelineError } from './errors.ts';
import { downloadDataset, locateDataset } from './data/sources.ts';
import type { ProfileName } from './profiles.ts';
import { REPORTS } from './reports/index.ts';
import { validatePlan, type ReportPlan, type ReportSpec } from './reports/spec.ts';
import { selectBackend, type BackendInfo, type BackendRequest } from './train/backend.ts';
import { describeFsError, makeStagingDirectory, sweepTemporary } from './util/fs.ts';
import { lockDirectory } from './util/lock.ts';
import type { Log } from './util/log.ts';

export interface BuildOptions {
  profile: ProfileName;
  /** Data directories named on the command line, by data set name. */
  dataDirs?: Record<string, string | undefined>;
  /** Fetch missing data sets from their canonical locations. */
  download?: boolean;
  /** Worker threads for training and analyses (1 = everything on the main thread). */
  workers?: number;
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

/** One build as it runs: what was asked, what was planned, and what it has so far. */
interface BuildRun {
  options: BuildOptions;
  reports: ReportSpec[];
  selections: Selection[];
  /** Reports skipped for missing data (the build still fails with exit code 3 after the others). */
  skipped: PipelineError[];
  cache: CacheStore;
  backend: BackendInfo;
  /** performance.now() when the build started. */
  started: number;
}

export async function build(options: BuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  const reports = options.reports ?? REPORTS;
  checkOnly(reports, options.only); // before anything loads or writes
  const backend = await selectBackend(options.backend);
  const context = {
    profile: options.profile,
    backend,
    cacheDir: options.cacheDir,
    dataDirs: options.dataDirs ?? {},
    log: options.log,
  };
  if (options.download) {
    requireWritableDirectory(options.cacheDir, '--cache');
    await provideData(reports, options, context.dataDirs);
  }
  const skipped: PipelineError[] = [];
  const selections = select(
    reports,
    options.only,
    (r) => r.plan(context),
    (report, error) => {
      // A report whose data is missing is skipped with the fix; the others still build. One that
      // needs an optional install is skipped without failing the build, unless it alone was asked for.
      const optional = error instanceof OptionalInputMissing && options.only === undefined;
      options.log.job(optional ? 'skipped' : 'failed', report.id, error.message);
      if (error.hint) options.log.info(`  hint: ${error.hint}`);
      if (!optional) skipped.push(error);
    },
  );
  const run: BuildRun = {
    options,
    reports,
    selections,
    skipped,
    cache: new CacheStore(options.cacheDir),
    backend,
    started,
  };
  if (options.statusOnly) return reportStatus(run);
  // Every flag is checked; before any job runs, both folders must take writes.
  requireWritableDirectory(options.outDir, '--out');
  requireWritableDirectory(options.cacheDir, '--cache');
  // Another build writing the same reports waits its turn; one on another output folder shares the cache
  // safely.
  const lock = await lockDirectory(options.outDir, (owner) =>
    options.log.job('waiting', options.outDir, `another build (${owner}) is writing it`),
  );
  try {
    return await buildLocked(run);
  } finally {
    lock.release();
  }
}

async function buildLocked(run: BuildRun): Promise<BuildSummary> {
  const { options, selections, cache, backend } = run;
  const swept =
    cache.sweepStaging() +
    sweepTemporary(options.outDir) +
    selections.reduce((n, s) => n + sweepTemporary(join(options.outDir, s.report.id, 'figures')), 0);
  if (swept > 0) options.log.info(`removed ${swept} staging folder(s) left by an interrupted build`);
  options.log.info(
    `profile ${options.profile}, backend ${backend.name} (${backend.detail}), tfjs ${backend.tfjsVersion}`,
  );
  const workers = options.workers ?? 1;
  // Each worker activates the backend chosen here, so its jobs round exactly as this thread's would.
  const init = {
    module: new URL('./train/backend.ts', import.meta.url).href,
    name: 'selectBackend',
    argument: backend.name,
  };
  const pool = workers > 1 ? new WorkerPool(workers, { cacheDir: options.cacheDir, init }) : undefined;
  if (pool) options.log.info(`${workers} worker threads for training and analyses`);
  const runner = new JobRunner({ cache, log: options.log, force: options.force, ...(pool ? { pool } : {}) });
  try {
    return await emitAll(run, runner);
  } finally {
    await pool?.close();
  }
}

async function emitAll(run: BuildRun, runner: JobRunner): Promise<BuildSummary> {
  const { options, selections, skipped, backend, reports, started } = run;
  const ctx = {
    outDir: options.outDir,
    profile: options.profile,
    runner,
    reportOrder: reports.map((r) => r.id),
    workers: options.workers ?? 1,
  };
  const emitted: string[] = [];
  // Start every selected job at once, so the worker pool always has training or analyses queued
  // while the main thread loads data, decomposes and draws, instead of idling between reports.
  // A failure is reported (once) by the emit below, which waits for the same promises.
  for (const job of selectedJobs(selections)) runner.get(job).catch(() => undefined);
  for (const { report, plan, figure } of selections) {
    if (figure) {
      await emitFigure(
        ctx,
        report,
        plan.figures.find((f) => f.id === figure)!,
        plan,
      );
      emitted.push(`${report.id}/${figure}`);
    } else {
      await emitReport(ctx, report, plan);
      emitted.push(report.id);
    }
    options.log.job('emitted', emitted.at(-1)!, join(options.outDir, report.id));
  }
  if (skipped.length > 0) {
    const reasons = skipped.map((e) => e.message).join('; ');
    throw new InputMissing(
      `${skipped.length} report(s) skipped for missing data (the others were built): ${reasons}`,
      skipped[0]!.hint,
    );
  }
  return { ...runner.stats, backend, seconds: (performance.now() - started) / 1000, emitted };
}

/** With --download: fetches every data set a selected report needs and cannot find. */
async function provideData(
  reports: ReportSpec[],
  options: BuildOptions,
  dataDirs: Record<string, string | undefined>,
): Promise<void> {
  const [reportId] = options.only?.split('/') ?? [];
  const wanted = reports.filter((r) => !reportId || r.id === reportId).flatMap((r) => r.datasets ?? []);
  for (const source of new Set(wanted)) {
    try {
      locateDataset(source, { dir: dataDirs[source.name], cacheDir: options.cacheDir });
    } catch {
      await downloadDataset(source, options.cacheDir, options.log);
    }
  }
}

/** The jobs a build of these selections would run at its top: every item it emits. */
function selectedJobs(selections: Selection[]): Job[] {
  return selections.flatMap(({ plan, figure }) =>
    figure
      ? plan.figures.filter((f) => f.id === figure).map((f) => f.job)
      : [...plan.models, ...(plan.analyses ?? []), ...plan.figures].map((item) => item.job),
  );
}

/** --status: every job the build would need, cached or missing, and nothing built. */
function reportStatus(run: BuildRun): BuildSummary {
  const { options, backend, started } = run;
  const runner = new JobRunner({ cache: run.cache, log: options.log, force: options.force });
  const stats = { built: 0, cached: 0, repaired: 0 };
  for (const { job, key, cached } of runner.status(selectedJobs(run.selections))) {
    options.log.job(cached ? 'cached' : 'missing', `${job.stage} ${job.label}`, key.slice(0, 12));
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

function select(
  reports: ReportSpec[],
  only: string | undefined,
  plan: (r: ReportSpec) => ReportPlan,
  onMissingData: (report: ReportSpec, error: PipelineError) => void,
): Selection[] {
  const [reportId, figureId, extra] = only?.split('/') ?? [];
  if (extra !== undefined) throw usageError(`--only takes 'report' or 'report/figure', got '${only}'`);
  const chosen = reportId ? reports.filter((r) => r.id === reportId) : reports;
  return chosen.flatMap((report) => {
    let p: ReportPlan;
    try {
      p = plan(report);
    } catch (error) {
      if (error instanceof InputMissing) {
        onMissingData(report, error);
        return [];
      }
      throw error;
    }
    validatePlan(report, p);
    if (figureId !== undefined && !p.figures.some((f) => f.id === figureId)) {
      throw usageError(
        `unknown figure '${figureId}' in report '${report.id}'; valid: ` +
          `${p.figures.map((f) => f.id).join(', ')}`,
      );
    }
    return [figureId === undefined ? { report, plan: p } : { report, plan: p, figure: figureId }];
  });
}

/**
 * Checks, before any work is done, that `dir` (given by `flag`) is a directory this process can
 * write, creating it if needed; otherwise one line naming the flag, the path and what is wrong.
 */
function requireWritableDirectory(dir: string, flag: string): void {
  const fail = (what: string) =>
    usageError(`${flag} ${dir}: ${what}`, `give ${flag} a directory you can write`);
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  if (!statSync(existing).isDirectory())
    throw fail(existing === dir ? 'is a file, not a directory' : `${existing} is a file, not a directory`);
  try {
    // One level at a time: Node's recursive mkdir never returns on some special file systems (/proc).
    for (const path of missing) mkdirSync(path);
    accessSync(dir, constants.W_OK);
    // what access() cannot see (e.g. a full quota)
    rmSync(makeStagingDirectory(dir, 'write-check'), { recursive: true });
  } catch (error) {
    throw fail(
      `${missing.length > 0 && !existsSync(dir) ? 'cannot be created' : 'is not writable'} ` +
        `(${describeFsError(error)})`,
    );
  }
}

/** Every figure id, `report/figure`, for --list (reports whose data is missing are listed by name only). */
export function listFigures(
  context: { profile: ProfileName; backend: BackendInfo; cacheDir: string },
  reports = REPORTS,
): string[] {
  return reports.flatMap((r) => {
    try {
      return r.plan({ ...context, dataDirs: {} }).figures.map((f) => `${r.id}/${f.id}`);
    } catch (error) {
      if (error instanceof InputMissing) return [`${r.id}/* (data missing: ${error.message})`];
      throw error;
    }
  });
}
