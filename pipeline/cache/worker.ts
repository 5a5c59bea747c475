/**
 * A worker thread of the pool (pool.ts): runs its set-up once, then, for each job description it
 * is sent, imports the job's modules (defining its kind), reads its inputs from the cache, runs
 * it and stores the result. It plans nothing: the description is the whole job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PipelineError } from '../errors.ts';
import { memoryLog } from '../util/log.ts';
import type { WorkerSetup } from './pool.ts';
import { executeJob, JobFailure, type JobDescription } from './runner.ts';
import { CacheStore } from './store.ts';

const setup = workerData as WorkerSetup;
const cache = new CacheStore(setup.cacheDir);
const log = memoryLog();
let ready: Promise<void> | undefined;

async function init(): Promise<void> {
  if (!setup.init) return;
  const module = (await import(setup.init.module)) as Record<string, (argument: unknown) => Promise<unknown>>;
  const fn = module[setup.init.name];
  if (typeof fn !== 'function')
    throw new Error(`worker set-up: ${setup.init.module} exports no function '${setup.init.name}'`);
  await fn(setup.init.argument);
}

// runJob never rejects: every failure is sent back as a message.
parentPort!.on('message', (job: JobDescription) => void runJob(job));

async function runJob(job: JobDescription): Promise<void> {
  try {
    await (ready ??= init());
    for (const module of job.modules) await import(module);
    const inputs = Object.fromEntries(
      Object.entries(job.deps).map(([name, dep]) => [name, cache.read(dep.stage, dep.key)]),
    );
    await executeJob(job, inputs, cache, log);
    parentPort!.postMessage({ ok: true });
  } catch (error) {
    // What went wrong crosses the thread with its exit code and hint, so a failure reads and exits
    // the same with workers or without (the main thread names the job once).
    const message =
      error instanceof JobFailure ? error.detail : error instanceof Error ? error.message : String(error);
    const pipeline = error instanceof PipelineError ? { exitCode: error.exitCode, hint: error.hint } : {};
    parentPort!.postMessage({ ok: false, error: message, ...pipeline });
  }
}
