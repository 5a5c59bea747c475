/**
 * Next-token prediction: inputs are windows of T token ids, targets the same windows shifted by
 * one. The model's output is (n, T, vocab) logits, one prediction per position; trained on the
 * mean cross-entropy over every position, evaluated by it and by top-1 accuracy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import { tokenSplitsOf, type TokenSplits, type TokenWindows } from '../data/tokens.ts';
import { defineTask, sumOverBatches, type Batch, type Split } from './kind.ts';

/** One batch: inputs (n, T) int32 token ids, targets (n, T) the next token of each position. */
export function nextTokenBatch(set: TokenWindows, indices: number[]): Batch {
  const T = set.context;
  const inputs = new Int32Array(indices.length * T);
  const targets = new Int32Array(indices.length * T);
  indices.forEach((i, r) => {
    const window = set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1));
    inputs.set(window.subarray(0, T), r * T);
    targets.set(window.subarray(1), r * T);
  });
  return { inputs: tf.tensor2d(inputs, [indices.length, T], 'int32'), targets: tf.tensor2d(targets, [indices.length, T], 'int32') };
}

/** Mean cross-entropy over every position: logits (n, T, V), targets (n, T) ids. */
function crossEntropy(output: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const vocab = output.shape.at(-1)!;
  const logits = tf.reshape(output, [-1, vocab]); // (n·T, V)
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, vocab), logits) as tf.Scalar;
}

/** Windows per evaluation pass: bounds memory (n · T · V logits), not results. */
const EVAL_CHUNK = 32;

export const nextToken = defineTask<TokenSplits>({
  name: 'next-token',
  module: import.meta.url,
  prepare: (data: Artifact) => tokenSplitsOf(data),
  size: (data, split: Split) => data[split].n,
  batch: (data, split, indices) => nextTokenBatch(data[split], indices),
  loss: (output, batch) => crossEntropy(output, batch.targets),
  evaluate(predict, data, split, subset) {
    const set = data[split];
    const positions = (subset?.length ?? set.n) * set.context;
    const [lossSum, correct] = sumOverBatches(set.n, EVAL_CHUNK, subset, (indices) => nextTokenBatch(set, indices), predict, (logits, b, windows) => [
      tf.mul(crossEntropy(logits, b.targets), windows * set.context) as tf.Scalar,
      tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), b.targets), 'float32')),
    ]);
    return { loss: lossSum! / positions, accuracy: correct! / positions };
  },
  metrics: [
    { name: 'loss', label: 'cross-entropy per token', format: 'number' },
    { name: 'accuracy', label: 'next-token accuracy', format: 'percent' },
  ],
});
