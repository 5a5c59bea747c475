/**
 * The next-token loss, softmax cross-entropy against target ids, on the native path (one C pass
 * for the loss and its gradient) and on the portable one (TensorFlow.js ops): both against the
 * closed form computed here in float64, loss and gradient (softmax − one-hot)/N.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadNative } from '../../pipeline/native/addon.ts';
import { meanCrossEntropy, rowCrossEntropy } from '../../pipeline/native/cross-entropy.ts';
import { nativeMatMulEnabled } from '../../pipeline/native/kernels.ts';
import { selectBackend, type BackendName } from '../../pipeline/train/backend.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

const [N, V] = [37, 1009];
const rng = new Rng(3);
// Logits up to ±30: a naive exp would overflow float32; the max-shifted form must not.
const logits = Float32Array.from({ length: N * V }, () => 10 * rng.normal());
const targets = Int32Array.from({ length: N }, () => rng.int(V));

function closedForm(): { rows: number[]; grad: Float64Array } {
  const grad = new Float64Array(N * V);
  const rows = Array.from({ length: N }, (_, r) => {
    const z = Array.from(logits.subarray(r * V, (r + 1) * V));
    const max = Math.max(...z);
    const sum = z.reduce((s, v) => s + Math.exp(v - max), 0);
    z.forEach((v, j) => (grad[r * V + j] = (Math.exp(v - max) / sum - (j === targets[r] ? 1 : 0)) / N));
    return Math.log(sum) + max - z[targets[r]!]!;
  });
  return { rows, grad };
}

for (const path of ['native', 'cpu'] as BackendName[]) {
  const skip = path === 'native' && !loadNative() ? 'the native addon is not built' : false;
  test(`${path}: per-row losses, their mean and its gradient equal the closed form`, { skip }, async () => {
    await selectBackend(path);
    assert.equal(nativeMatMulEnabled() && tf.getBackend() === 'wasm', path === 'native');
    const expected = closedForm();
    const { rows, mean, grad } = tf.tidy(() => {
      const z = tf.tensor2d(logits, [N, V]);
      const t = tf.tensor1d(targets, 'int32');
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => meanCrossEntropy(x as tf.Tensor2D, t))([z]);
      return {
        rows: rowCrossEntropy(z, t).dataSync(),
        mean: value.dataSync()[0]!,
        grad: grads[0]!.dataSync(),
      };
    });
    assertClose(rows, expected.rows, { atol: 1e-4, rtol: 1e-5, label: 'row losses' });
    assertClose(mean, expected.rows.reduce((a, b) => a + b, 0) / N, {
      atol: 1e-4,
      rtol: 1e-5,
      label: 'mean',
    });
    assertClose(grad, expected.grad, { atol: 1e-7, label: 'gradient' });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => meanCrossEntropy(x as tf.Tensor2D, tf.tensor1d(targets, 'int32')))(
        tf.tensor2d(logits, [N, V]),
      );
    });
    assert.equal(tf.memory().numTensors, before, 'tensors left by a gradient');
  });
}

test(
  'native: a target outside the vocabulary is refused',
  { skip: loadNative() ? false : 'the native addon is not built' },
  async () => {
    await selectBackend('native');
    assert.throws(
      () =>
        tf.tidy(() =>
          rowCrossEntropy(
            tf.tensor2d(logits, [N, V]),
            tf.tensor1d(
              Int32Array.from(targets, (t, i) => (i === 5 ? V : t)),
              'int32',
            ),
          ),
        ),
      /target index is outside/,
    );
    await selectBackend('auto');
  },
);

test(
  'native: the vectorised exponential keeps its accuracy across the whole range, and clamps far below it',
  { skip: loadNative() ? false : 'the native addon is not built' },
  () => {
    // One row whose shifted logits z − max run from 0 to −200 in steps of 1/8: e^x from 1 to far
    // below float32's smallest normal, where the kernel's exponential clamps at x = −87.3.
    const cols = 1601;
    const z = Float32Array.from({ length: cols }, (_, j) => -j / 8);
    const [loss, grad] = [new Float32Array(1), new Float32Array(cols)];
    loadNative()!.crossEntropy(z, Int32Array.of(40), 1, cols, 1, loss, grad);
    const sum = Array.from(z).reduce((s, v) => s + Math.exp(v), 0);
    assertClose(loss[0]!, Math.log(sum) + 5, { rtol: 1e-6, label: 'loss' });
    for (let j = 0; j < cols; j++) {
      const p = Math.exp(z[j]!) / sum;
      // Within 2 ulp of expf where float32 holds the value; below e^−87.3, at most ~1e−38.
      if (j === 40) {
        // p − 1 in float32: its rounding near −1 is 6e−8.
        assertClose(grad[j]!, p - 1, { atol: 1.2e-7, label: 'gradient at the target' });
        continue;
      }
      const tol = p > 1e-37 ? 4e-7 * p : 2e-38;
      assertClose(grad[j]!, p, { atol: tol, rtol: 2e-7, label: `softmax at ${z[j]}` });
    }
  },
);
