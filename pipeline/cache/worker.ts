/**
 * A worker thread of the pool (pool.ts): plans the reports once, then, for each key it is sent,
 * finds that job, reads its inputs from the cache, runs it and stores the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { REPORTS } from '../reports/index.ts';
import { selectBackend } from '../train/backend.ts';
import { memoryLog } from '../util/log.ts';
import type { WorkerSetup } from './pool.ts';
import { executeJob, JobRunner, type Job } from './runner.ts';
import { CacheStore } from './store.ts';

const setup = workerData as WorkerSetup;
const cache = new CacheStore(setup.cacheDir);
const log = memoryLog();
const runner = new JobRunner({ cache, log, force: false });
let jobs: Map<string, Job> | undefined;

async function jobsByKey(): Promise<Map<string, Job>> {
  if (jobs) return jobs;
  const backend = await selectBackend(setup.backend);
  const found = new Map<string, Job>();
  const visit = (job: Job) => {
    const key = runner.key(job);
    if (found.has(key)) return;
    found.set(key, job);
    Object.values(job.deps).forEach(visit);
  };
  for (const report of REPORTS) {
    try {
      const plan = report.plan({ profile: setup.profile, backend, cacheDir: setup.cacheDir, dataDirs: setup.dataDirs });
      [...plan.models.map((m) => m.job), ...(plan.analyses ?? []).map((a) => a.job), ...plan.figures.map((f) => f.job)].forEach(visit);
    } catch {
      // a report whose data is missing has no jobs to run here; the main thread reports it
    }
  }
  jobs = found;
  return found;
}

parentPort!.on('message', async ({ key }: { key: string }) => {
  try {
    const job = (await jobsByKey()).get(key);
    if (!job) throw new Error(`no job with key ${key.slice(0, 12)} in this worker's plan`);
    const inputs = Object.fromEntries(Object.entries(job.deps).map(([name, dep]) => [name, cache.read(dep.stage, runner.key(dep))]));
    await executeJob(job, key, inputs, runner.depKeys(job), cache, log);
    parentPort!.postMessage({ ok: true });
  } catch (error) {
    parentPort!.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
