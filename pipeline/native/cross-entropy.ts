/**
 * Softmax cross-entropy of logits (N, V) against integer targets (N): the loss of next-token
 * prediction, where V is a vocabulary of up to tens of thousands and N·V the largest tensor of a
 * training step. With the native matmul kernels on, one C pass over the heap computes each row's
 * loss and the gradient (softmax − one-hot)/N (measured: it was 45% of a stories15M training
 * step as TensorFlow.js ops); otherwise the same math runs as TensorFlow.js ops.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, nativeKernels, onHeap } from './heap.ts';

const useNative = () => nativeKernels() !== null;

/** Runs the C kernel: per-row losses, and the gradient scaled by `scale` unless `withGrad` is false. */
function nativeRows(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  scale: number,
  withGrad: boolean,
): { rows: tf.Tensor1D; grad: tf.Tensor2D | null } {
  const [n, v] = logits.shape;
  const ids = targets.dtype === 'int32' ? targets : tf.cast(targets, 'int32');
  const [rows, grad] = onHeap([logits], withGrad ? [[n], [n, v]] : [[n]], ([z], [loss, g]) =>
    nativeKernels()!.crossEntropy(
      z!,
      heapView(ids) as Int32Array,
      n,
      v,
      scale,
      loss!,
      g ?? new Float32Array(0),
    ),
  );
  if (ids !== targets) ids.dispose();
  return { rows: rows as tf.Tensor1D, grad: (grad as tf.Tensor2D | undefined) ?? null };
}

const nativeMean = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [logits, targets, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  const { rows, grad } = nativeRows(logits, targets, 1 / logits.shape[0], true);
  save([grad!]);
  return {
    value: tf.mean<tf.Scalar>(rows),
    // dy is 1 for the training loss itself: then the saved gradient as it is (a clone shares its
    // data), not a pass over N × V values.
    gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [
      dy.dataSync()[0] === 1 ? tf.clone(saved[0]!) : tf.mul(saved[0]!, dy),
      tf.zerosLike(targets),
    ],
  };
});

/** Each row's loss, log Σ exp(z) − z_target, without a gradient (evaluation). */
export function rowCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  if (useNative()) return nativeRows(logits, targets, 1, false).rows;
  return tf.tidy(() =>
    tf.sub<tf.Tensor1D>(
      tf.logSumExp(logits, 1),
      tf.sum(tf.mul(logits, tf.oneHot(tf.cast(targets, 'int32'), logits.shape[1])), 1),
    ),
  );
}

/** The mean loss over the rows, differentiable in the logits (training). */
export function meanCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (useNative()) return nativeMean(logits, targets);
  return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
    tf.oneHot(tf.cast(targets, 'int32'), logits.shape[1]),
    logits,
  );
}
