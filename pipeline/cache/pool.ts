/**
 * A pool of worker threads for the heavy jobs (training, analyses), so independent models train
 * on all cores. A worker is sent the job's description (runner.ts): its kind, parameters, modules
 * and the cache keys of its inputs. It imports the modules (which define the kind), reads the
 * inputs from the cache, runs the job and stores the result. Results are the same bytes as on one
 * thread (tested): the work inside a job does not change, only which thread does it.
 */
import { Worker } from 'node:worker_threads';
import { PipelineError } from '../errors.ts';
import type { Json } from './artifact.ts';
import type { JobDescription } from './runner.ts';

export interface WorkerSetup {
  cacheDir: string;
  /**
   * Called once in each worker before its first job, e.g. to select the training backend the
   * main thread selected: a module URL, the name of an exported async function, its argument.
   */
  init?: { module: string; name: string; argument: Json };
}

/** What a worker answers: success, or the failure (what went wrong, its exit code and hint). */
interface Reply {
  ok: boolean;
  error?: string;
  exitCode?: number;
  hint?: string;
}

interface Task {
  job: JobDescription;
  resolve: (timing: PoolTiming) => void;
  reject: (error: Error) => void;
  /** performance.now() when queued, and when a worker took it. */
  queued: number;
  started?: number;
}

/** How long a job waited in the queue for a free worker, in seconds. */
export interface PoolTiming {
  waited: number;
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly busy = new Map<Worker, Task>();

  constructor(size: number, setup: WorkerSetup) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: setup });
      worker.on('message', (message: Reply) => this.finish(worker, message));
      worker.on('error', (error) => this.finish(worker, { ok: false, error: error.message }));
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  /** Runs a job on the next free worker; says how long it waited for one. */
  run(job: JobDescription): Promise<PoolTiming> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject, queued: performance.now() });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      task.started = performance.now();
      this.busy.set(worker, task);
      worker.postMessage(task.job);
    }
  }

  private finish(worker: Worker, message: Reply): void {
    const task = this.busy.get(worker);
    if (!task) return;
    this.busy.delete(worker);
    this.idle.push(worker);
    if (message.ok) task.resolve({ waited: ((task.started ?? task.queued) - task.queued) / 1000 });
    else if (message.exitCode !== undefined)
      task.reject(
        new PipelineError(message.error ?? 'the worker thread failed', {
          exitCode: message.exitCode,
          ...(message.hint ? { hint: message.hint } : {}),
        }),
      );
    else task.reject(new Error(message.error ?? 'the worker thread failed'));
    this.dispatch();
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
