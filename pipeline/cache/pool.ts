/**
 * A pool of worker threads for the heavy jobs (training, analyses), so independent models train
 * on all cores. A job's closure cannot cross threads, so a worker is told only the job's key: it
 * plans the same reports itself (same code, same settings, so the same keys), finds the job, reads
 * its inputs from the cache, runs it and stores the result. Results are the same bytes as on one
 * thread (tested): the work inside a job does not change, only which thread does it.
 */
import { Worker } from 'node:worker_threads';
import type { ProfileName } from '../profiles.ts';
import type { BackendRequest } from '../train/backend.ts';

export interface WorkerSetup {
  profile: ProfileName;
  backend: BackendRequest;
  cacheDir: string;
  dataDirs: Record<string, string | undefined>;
}

interface Task {
  key: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly busy = new Map<Worker, Task>();

  constructor(size: number, setup: WorkerSetup) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: setup });
      worker.on('message', (message: { ok: boolean; error?: string }) => this.finish(worker, message));
      worker.on('error', (error) => this.finish(worker, { ok: false, error: error.message }));
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  run(key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.busy.set(worker, task);
      worker.postMessage({ key: task.key });
    }
  }

  private finish(worker: Worker, message: { ok: boolean; error?: string }): void {
    const task = this.busy.get(worker);
    if (!task) return;
    this.busy.delete(worker);
    this.idle.push(worker);
    if (message.ok) task.resolve();
    else task.reject(new Error(message.error ?? 'worker failed'));
    this.dispatch();
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
