/** Runs one job directly, outside the cache, with the context the runner gives it (its inputs' keys too). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import { jobKind, type Job } from '../../pipeline/cache/job.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { memoryLog } from '../../pipeline/util/log.ts';

export async function runJob<M>(job: Job<M>, inputs: Record<string, Artifact> = {}): Promise<Artifact<M>> {
  const runner = new JobRunner({
    cache: new CacheStore(mkdtempSync(join(tmpdir(), 'run-job-'))),
    log: memoryLog(),
    force: false,
  });
  const result = await jobKind(job.kind).run(
    { log: memoryLog(), key: runner.key(job), locations: job.locations ?? null, deps: runner.depKeys(job) },
    inputs,
    job.params,
  );
  return { ...result, kind: job.kind } as Artifact<M>;
}
