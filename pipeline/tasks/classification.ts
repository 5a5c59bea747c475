/**
 * Classification: inputs are rows of features (pixels in [0, 1]), targets are class labels.
 * Trained on the mean softmax cross-entropy; evaluated by cross-entropy and argmax accuracy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import type { ImageSet } from '../data/dataset.ts';
import { dataMeta, splitOf } from '../data/job.ts';
import { defineTask, sumOverBatches, type Batch, type Split } from './kind.ts';

export interface ClassificationData {
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  classes: number;
}

/** One batch: x (n, dim) and one-hot y (n, classes). */
export function classificationBatch(set: ImageSet, indices: number[], classes: number): Batch {
  const x = new Float32Array(indices.length * set.dim);
  const y = new Float32Array(indices.length * classes);
  indices.forEach((i, r) => {
    x.set(set.images.subarray(i * set.dim, (i + 1) * set.dim), r * set.dim);
    y[r * classes + set.labels[i]!] = 1;
  });
  return {
    inputs: tf.tensor2d(x, [indices.length, set.dim]),
    targets: tf.tensor2d(y, [indices.length, classes]),
  };
}

/** Chunk of examples per evaluation pass: bounds memory, not results. */
const EVAL_CHUNK = 1000;

export const classification = defineTask<ClassificationData>({
  name: 'classification',
  module: import.meta.url,
  prepare: (data: Artifact) => ({ ...splitOf(data), classes: dataMeta(data).classNames.length }),
  size: (data, split: Split) => data[split].n,
  batch: (data, split, indices) => classificationBatch(data[split], indices, data.classes),
  loss: (output, batch) => tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(batch.targets, output),
  evaluate(predict, data, split, subset) {
    const set = data[split];
    const n = subset?.length ?? set.n;
    const [lossSum, correct] = sumOverBatches(
      set.n,
      EVAL_CHUNK,
      subset,
      (indices) => classificationBatch(set, indices, data.classes),
      predict,
      (logits, b, count) => [
        tf.mul<tf.Scalar>(tf.losses.softmaxCrossEntropy(b.targets, logits), count),
        tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(b.targets, 1)), 'float32')),
      ],
    );
    return { loss: lossSum! / n, accuracy: correct! / n };
  },
  metrics: [
    { name: 'loss', label: 'cross-entropy loss', format: 'number' },
    { name: 'accuracy', label: 'accuracy', format: 'percent' },
  ],
});
