/**
 * Next-token prediction: inputs are windows of T token ids, targets the same windows shifted by
 * one. The model's output is (n, T, vocab) logits, one prediction per position; trained on the
 * mean cross-entropy over every position, evaluated by it and by top-1 accuracy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import { tokenSplitsOf, type TokenSplits, type TokenWindows } from '../data/tokens.ts';
import { meanCrossEntropy, rowCrossEntropy } from '../native/cross-entropy.ts';
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
  return {
    inputs: tf.tensor2d(inputs, [indices.length, T], 'int32'),
    targets: tf.tensor2d(targets, [indices.length, T], 'int32'),
  };
}

const flat = (output: tf.Tensor, targets: tf.Tensor) =>
  [
    tf.reshape<tf.Rank.R2>(output, [-1, output.shape.at(-1)!]),
    tf.reshape<tf.Rank.R1>(targets, [-1]),
  ] as const; // (n·T, V), (n·T)

/** Logits per evaluation pass at most: bounds memory (n · T · V floats), not results. */
const EVAL_LOGITS = 1 << 23;

export const nextToken = defineTask<TokenSplits>({
  name: 'next-token',
  module: import.meta.url,
  prepare: (data: Artifact) => tokenSplitsOf(data),
  size: (data, split: Split) => data[split].n,
  batch: (data, split, indices) => nextTokenBatch(data[split], indices),
  loss: (output, batch) => meanCrossEntropy(...flat(output, batch.targets)),
  evaluate(predict, data, split, subset) {
    const set = data[split];
    const positions = (subset?.length ?? set.n) * set.context;
    const chunk = Math.max(1, Math.floor(EVAL_LOGITS / (set.context * data.vocabSize)));
    const [lossSum, correct] = sumOverBatches(
      set.n,
      chunk,
      subset,
      (indices) => nextTokenBatch(set, indices),
      predict,
      (logits, b) => [
        tf.sum(rowCrossEntropy(...flat(logits, b.targets))),
        tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), b.targets), 'float32')),
      ],
    );
    return { loss: lossSum! / positions, accuracy: correct! / positions };
  },
  evaluateEach(predict, data, split) {
    const set = data[split];
    const T = set.context;
    const chunk = Math.max(1, Math.floor(EVAL_LOGITS / (T * data.vocabSize)));
    const loss = new Float64Array(set.n);
    let [lossSum, correct] = [0, 0];
    for (let first = 0; first < set.n; first += chunk) {
      const indices = Array.from({ length: Math.min(chunk, set.n - first) }, (_, i) => first + i);
      const b = nextTokenBatch(set, indices);
      const [rows, right] = tf.tidy(() => {
        const logits = predict(b.inputs);
        return [
          rowCrossEntropy(...flat(logits, b.targets)).dataSync() as Float32Array,
          tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), b.targets), 'float32')).dataSync()[0]!,
        ] as const;
      });
      tf.dispose([b.inputs, b.targets]);
      indices.forEach((w, r) => {
        let sum = 0;
        for (let t = 0; t < T; t++) sum += rows[r * T + t]!;
        loss[w] = sum / T;
        lossSum += sum;
      });
      correct += right;
    }
    const positions = set.n * T;
    return { metrics: { loss: lossSum / positions, accuracy: correct / positions }, loss };
  },
  metrics: [
    { name: 'loss', label: 'cross-entropy per token', format: 'number' },
    { name: 'accuracy', label: 'next-token accuracy', format: 'percent' },
  ],
});
