/**
 * Runs a graph of jobs through the cache. A job's key hashes its stage's code version, its
 * config and the keys of the jobs it depends on; keys never need results, so a cached job is
 * answered without loading (or running) anything upstream of it.
 */
import { PipelineError } from '../errors.ts';
import type { Log } from '../util/log.ts';
import { formatBytes } from '../util/format.ts';
import { hashJson } from '../util/hash.ts';
import type { Artifact, Json } from './artifact.ts';
import { codeVersion } from './code-version.ts';
import type { CacheStore } from './store.ts';

export interface JobContext {
  log: Log;
  /** The job's own key (its config hash), for provenance. */
  key: string;
}

export interface Job {
  /** Which stage runs it; names the code version that goes into the key. */
  stage: string;
  /** A readable name for status lines, e.g. `mnist/model`. */
  label: string;
  /** Everything besides its inputs that determines the result. JSON only. */
  config: Json;
  /** Upstream jobs by the name under which run() receives their results. */
  deps: Record<string, Job>;
  run(ctx: JobContext, inputs: Record<string, Artifact>): Promise<Artifact>;
}

export interface RunOptions {
  cache: CacheStore;
  log: Log;
  /** Rebuild every job reached, ignoring cached entries. */
  force: boolean;
  /** Worker threads for the heavy stages; without one, every job runs on this thread. */
  pool?: { run(key: string): Promise<void> };
}

/** Stages worth a worker thread: long, CPU-bound, and independent across models. */
const OFFLOADED = new Set(['train', 'analysis']);

export interface RunStats {
  built: number;
  cached: number;
}

export class JobRunner {
  private readonly options: RunOptions;
  private readonly keys = new Map<Job, string>();
  private readonly results = new Map<string, Promise<Artifact>>();
  readonly stats: RunStats = { built: 0, cached: 0 };

  constructor(options: RunOptions) {
    this.options = options;
  }

  key(job: Job): string {
    let key = this.keys.get(job);
    if (key === undefined) {
      const deps = Object.fromEntries(Object.entries(job.deps).map(([name, dep]) => [name, this.key(dep)]));
      key = hashJson({ stage: job.stage, code: codeVersion(job.stage), config: job.config, deps });
      this.keys.set(job, key);
    }
    return key;
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

  /** The job's artifact: from the cache when present (and not forced), else built and stored. */
  get(job: Job): Promise<Artifact> {
    const key = this.key(job);
    let result = this.results.get(key);
    if (!result) {
      result = this.resolve(job, key);
      this.results.set(key, result);
    }
    return result;
  }

  private async resolve(job: Job, key: string): Promise<Artifact> {
    const { cache, log, force } = this.options;
    if (!force && cache.has(job.stage, key)) {
      this.stats.cached++;
      log.job('cached', `${job.stage} ${job.label}`, `${key.slice(0, 12)} ${formatBytes(cache.sizeOf(job.stage, key))}`);
      return cache.read(job.stage, key);
    }
    // Upstream jobs are independent of each other: resolve them concurrently.
    const entries = await Promise.all(Object.entries(job.deps).map(async ([name, dep]) => [name, await this.get(dep)] as const));
    const started = performance.now();
    let value: Artifact;
    const offload = this.options.pool && OFFLOADED.has(job.stage);
    if (offload) {
      try {
        await this.options.pool!.run(key); // the worker reads the inputs from the cache and stores the result
      } catch (error) {
        log.job('failed', `${job.stage} ${job.label}`, error instanceof Error ? error.message : String(error));
        throw error instanceof PipelineError ? error : new PipelineError(`${job.stage} ${job.label} failed: ${error instanceof Error ? error.message : error}`);
      }
      value = cache.read(job.stage, key);
    } else {
      value = await executeJob(job, key, Object.fromEntries(entries), this.depKeys(job), cache, log);
    }
    this.stats.built++;
    log.job('built', `${job.stage} ${job.label}`, `${key.slice(0, 12)} ${((performance.now() - started) / 1000).toFixed(1)} s${offload ? ' (worker)' : ''}`);
    return value;
  }

  /** The keys of a job's inputs, by name. */
  depKeys(job: Job): Record<string, string> {
    return Object.fromEntries(Object.entries(job.deps).map(([name, dep]) => [name, this.key(dep)]));
  }
}

/** Runs one job on its inputs and stores the result; a failure stores nothing. */
export async function executeJob(job: Job, key: string, inputs: Record<string, Artifact>, deps: Record<string, string>, cache: CacheStore, log: Log): Promise<Artifact> {
  const started = performance.now();
  let value: Artifact;
  try {
    value = await job.run({ log, key }, inputs);
  } catch (error) {
    log.job('failed', `${job.stage} ${job.label}`, error instanceof Error ? error.message : String(error));
    throw error instanceof PipelineError
      ? error
      : new PipelineError(`${job.stage} ${job.label} failed: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
  const seconds = (performance.now() - started) / 1000;
  cache.write({ stage: job.stage, label: job.label, key, seconds: round(seconds), inputs: { config: job.config, deps } }, value);
  return value;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
