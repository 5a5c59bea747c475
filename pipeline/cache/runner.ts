/**
 * Runs a graph of jobs through the cache. A job's key hashes its kind, the code version of its
 * modules, its parameters and the keys of the jobs it depends on; keys never need results, so a
 * cached job is answered without loading (or running) anything upstream of it.
 */
import { PipelineError } from '../errors.ts';
import type { Log } from '../util/log.ts';
import { formatBytes } from '../util/format.ts';
import { hashJson } from '../util/hash.ts';
import type { Artifact } from './artifact.ts';
import { codeVersion } from './code-version.ts';
import { jobKind, type Job } from './job.ts';
import { DamagedEntryError, type CacheStore } from './store.ts';

export type { Job } from './job.ts';

/** What a worker thread is sent: the job itself, as data, and where its inputs are cached. */
export interface JobDescription {
  key: string;
  kind: string;
  stage: string;
  label: string;
  params: Job['params'];
  locations: Job['params'];
  modules: string[];
  deps: Record<string, { stage: string; key: string }>;
}

export interface RunOptions {
  cache: CacheStore;
  log: Log;
  /** Rebuild every job reached, ignoring cached entries. */
  force: boolean;
  /** Worker threads for heavy jobs; without one, every job runs on this thread. */
  pool?: { run(job: JobDescription): Promise<{ waited: number }> };
}

export interface RunStats {
  built: number;
  cached: number;
  /** Damaged entries found, removed and rebuilt. */
  repaired: number;
}

/**
 * The layout of a cache entry (store.ts), part of every key: entries written before the layout
 * recorded each file's SHA-256 are never read, since they could not be verified.
 */
const ENTRY_FORMAT = 2;

export class JobRunner {
  private readonly options: RunOptions;
  private readonly keys = new Map<Job, string>();
  private readonly results = new Map<string, Promise<Artifact>>();
  readonly stats: RunStats = { built: 0, cached: 0, repaired: 0 };

  constructor(options: RunOptions) {
    this.options = options;
  }

  key(job: Job): string {
    let key = this.keys.get(job);
    if (key === undefined) {
      key = hashJson({
        format: ENTRY_FORMAT,
        kind: job.kind,
        stage: job.stage,
        code: codeVersion(job.modules),
        params: job.params,
        deps: this.depKeys(job),
      });
      this.keys.set(job, key);
    }
    return key;
  }

  /** The keys of a job's inputs, by name. */
  depKeys(job: Job): Record<string, string> {
    return Object.fromEntries(Object.entries(job.deps).map(([name, dep]) => [name, this.key(dep)]));
  }

  describe(job: Job): JobDescription {
    const deps = Object.fromEntries(
      Object.entries(job.deps).map(([name, dep]) => [name, { stage: dep.stage, key: this.key(dep) }]),
    );
    return {
      key: this.key(job),
      kind: job.kind,
      stage: job.stage,
      label: job.label,
      params: job.params,
      locations: job.locations ?? null,
      modules: job.modules,
      deps,
    };
  }

  /**
   * Reports, without building anything, which jobs the given ones need are cached and which are
   * missing. A cached job's upstream is not visited: it will not be needed.
   */
  status(jobs: Job[]): { job: Job; key: string; cached: boolean }[] {
    const seen = new Set<string>();
    const out: { job: Job; key: string; cached: boolean }[] = [];
    const visit = (job: Job) => {
      const key = this.key(job);
      if (seen.has(key)) return;
      seen.add(key);
      const cached = !this.options.force && this.options.cache.has(job.stage, key);
      if (!cached) for (const dep of Object.values(job.deps)) visit(dep);
      out.push({ job, key, cached });
    };
    jobs.forEach(visit);
    return out;
  }

  /** The seconds the job's cache entry took to build, or null when it has no entry. */
  seconds(job: Job): number | null {
    return this.options.cache.seconds(job.stage, this.key(job));
  }

  /** The job's artifact: from the cache when present (and not forced), else built and stored. */
  get<M>(job: Job<M>): Promise<Artifact<M>> {
    const key = this.key(job);
    let result = this.results.get(key);
    if (!result) {
      result = this.resolve(job, key);
      this.results.set(key, result);
    }
    return result as Promise<Artifact<M>>;
  }

  private async resolve(job: Job, key: string): Promise<Artifact> {
    const { cache, log, force } = this.options;
    const name = `${job.stage} ${job.label}`;
    if (!force && cache.has(job.stage, key)) {
      try {
        const { value, bytes } = cache.readEntry(job.stage, key, job.kind);
        this.stats.cached++;
        log.job('cached', name, `${key.slice(0, 12)} ${formatBytes(bytes)}`);
        return value;
      } catch (error) {
        if (!(error instanceof DamagedEntryError)) throw error;
        // Never trusted, never published: said in one line, removed, and rebuilt below.
        log.job('damaged', name, `${error.path}: ${error.reason}; removed, rebuilding`);
        cache.remove(job.stage, key);
        this.stats.repaired++;
      }
    }
    // Upstream jobs are independent of each other: resolve them concurrently.
    const entries = await Promise.all(
      Object.entries(job.deps).map(async ([dep, upstream]) => [dep, await this.get(upstream)] as const),
    );
    const started = performance.now();
    const pool = job.heavy ? this.options.pool : undefined;
    let value: Artifact;
    let where = '';
    if (pool) {
      let waited: number;
      try {
        // the worker reads the inputs from the cache and stores the result
        ({ waited } = await pool.run(this.describe(job)));
      } catch (error) {
        const failure = jobFailure(job, error);
        log.job('failed', name, failure.detail);
        throw failure;
      }
      value = cache.read(job.stage, key);
      where = ` (worker; waited ${waited.toFixed(1)} s for it)`;
    } else {
      value = await executeJob(this.describe(job), Object.fromEntries(entries), cache, log);
    }
    this.stats.built++;
    // The job's own run time, as its cache entry recorded it where it ran: not the time since it
    // was queued, which for a worker includes the wait for a free one (said apart).
    const ran = cache.seconds(job.stage, key) ?? (performance.now() - started) / 1000;
    log.job('built', name, `${key.slice(0, 12)} ${ran.toFixed(1)} s${where}`);
    return value;
  }
}

/** Runs one described job on its inputs and stores the result; a failure stores nothing. */
export async function executeJob(
  job: JobDescription,
  inputs: Record<string, Artifact>,
  cache: CacheStore,
  log: Log,
): Promise<Artifact> {
  const started = performance.now();
  const deps = Object.fromEntries(Object.entries(job.deps).map(([name, d]) => [name, d.key]));
  let value: Artifact;
  try {
    value = {
      ...(await jobKind(job.kind).run(
        { log, key: job.key, locations: job.locations, deps },
        inputs,
        job.params,
      )),
      kind: job.kind,
    };
  } catch (error) {
    const failure = jobFailure(job, error);
    log.job('failed', `${job.stage} ${job.label}`, failure.detail);
    throw failure;
  }
  const seconds = Math.round(performance.now() - started) / 1000;
  cache.write(
    {
      stage: job.stage,
      kind: job.kind,
      label: job.label,
      key: job.key,
      seconds,
      inputs: { params: job.params, deps },
    },
    value,
  );
  return value;
}

/**
 * A job's failure: "<stage> <label> failed: <what went wrong>", keeping the exit code and hint of
 * a PipelineError; said once however many threads it crossed.
 */
export class JobFailure extends PipelineError {
  /** What went wrong, without the job's name (for the job's status line). */
  readonly detail: string;

  constructor(
    name: string,
    detail: string,
    options: { exitCode?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(`${name} failed: ${detail}`, options);
    this.detail = detail;
  }
}

export function jobFailure(job: { stage: string; label: string }, error: unknown): JobFailure {
  if (error instanceof JobFailure) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const pipeline =
    error instanceof PipelineError
      ? { exitCode: error.exitCode, ...(error.hint ? { hint: error.hint } : {}) }
      : {};
  return new JobFailure(`${job.stage} ${job.label}`, detail, { ...pipeline, cause: error });
}
