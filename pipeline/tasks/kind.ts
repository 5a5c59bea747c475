/**
 * What a training task is: how a data artifact becomes batches, the loss a model is trained on,
 * and what an evaluation measures (which is what a training curve records, per split and epoch).
 * Each task is one file in tasks/; the trainer knows none of them by name.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';

/** The training split, the validation split (curves, choices) and the test split (final numbers only). */
export type Split = 'train' | 'validation' | 'test';

export interface Batch {
  /** What the model's forward pass takes, e.g. pixels (n, dim) or token ids (n, T). */
  inputs: tf.Tensor;
  /** What the loss compares the output with, e.g. one-hot labels (n, c). */
  targets: tf.Tensor;
}

/** A metric that evaluation reports, e.g. `{ name: 'accuracy', label: 'accuracy', format: 'percent' }`. */
export interface TaskMetric {
  name: string;
  label: string;
  format: 'percent' | 'number';
}

export interface Task<D = unknown> {
  /** Kebab-case, stable: recorded with every trained model. */
  name: string;
  /** `import.meta.url` of the defining module (its code is part of every training job's key). */
  module: string;
  /** The data a run trains on, read once from the data job's artifact. */
  prepare(data: Artifact): D;
  /** How many examples a split holds (an epoch is one pass over the training split). */
  size(data: D, split: Split): number;
  /** The examples at `indices` as tensors; the caller disposes them. */
  batch(data: D, split: Split, indices: number[]): Batch;
  /** The mean training loss of a batch, from the model's output. */
  loss(output: tf.Tensor, batch: Batch): tf.Scalar;
  /**
   * Every metric over a split (or the examples of it at `indices`), in chunks: `loss` first (the
   * same loss as training, without noise), then the task's own; means over the examples.
   */
  evaluate(
    predict: (inputs: tf.Tensor) => tf.Tensor,
    data: D,
    split: Split,
    indices?: number[],
  ): Record<string, number>;
  /**
   * Optional: every metric over a whole split, as evaluate() gives them, and each example's own
   * loss, in one pass; two models' losses on the same examples make a paired comparison.
   */
  evaluateEach?(
    predict: (inputs: tf.Tensor) => tf.Tensor,
    data: D,
    split: Split,
  ): { metrics: Record<string, number>; loss: Float64Array };
  /** The metrics evaluate() reports, `loss` first. */
  metrics: readonly TaskMetric[];
}

const TASKS = new Map<string, Task>();

/** Registers a task (done by its own module, once, when imported). */
export function defineTask<D>(task: Task<D>): Task<D> {
  const known = TASKS.get(task.name);
  if (known && known.module !== task.module)
    throw new Error(`task '${task.name}' is defined in both ${known.module} and ${task.module}`);
  TASKS.set(task.name, task);
  return task;
}

export function taskOf(name: string): Task {
  const task = TASKS.get(name);
  if (!task)
    throw new Error(
      `unknown task '${name}' (known: ${[...TASKS.keys()].sort().join(', ')}); ` +
        `import its module from pipeline/tasks/`,
    );
  return task;
}

/**
 * The loop every task's evaluate() runs: over the examples (all n, or those at `indices`) in
 * chunks of `chunk` (memory, not results), a batch, the model's output, and per-batch totals
 * (scalars) summed over the chunks; every tensor is disposed.
 */
export function sumOverBatches(
  n: number,
  chunk: number,
  indices: number[] | undefined,
  batchOf: (indices: number[]) => Batch,
  predict: (inputs: tf.Tensor) => tf.Tensor,
  totals: (output: tf.Tensor, batch: Batch, count: number) => tf.Scalar[],
): number[] {
  const all = indices ?? Array.from({ length: n }, (_, i) => i);
  let sums: number[] = [];
  for (let start = 0; start < all.length; start += chunk) {
    const slice = all.slice(start, start + chunk);
    const b = batchOf(slice);
    const values = tf.tidy(() => totals(predict(b.inputs), b, slice.length).map((t) => t.dataSync()[0]!));
    tf.dispose([b.inputs, b.targets]);
    sums = sums.length === 0 ? values : sums.map((s, i) => s + values[i]!);
  }
  return sums;
}
