/** Runs one job directly, outside the cache (the runner's executeJob without storing). */
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import { jobKind, type Job } from '../../pipeline/cache/job.ts';
import { memoryLog } from '../../pipeline/util/log.ts';

export async function runJob<M>(job: Job<M>, inputs: Record<string, Artifact> = {}): Promise<Artifact<M>> {
  const result = await jobKind(job.kind).run({ log: memoryLog(), key: 'k', locations: job.locations ?? null, deps: {} }, inputs, job.params);
  return { ...result, kind: job.kind } as Artifact<M>;
}
