/**
 * The identity uᵀ logits(x) = eᵀ Q_u e on a model trained by the real trainer: the TensorFlow.js
 * forward pass (float32) against the decomposition engine's quadratic form (float64).
 */
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { bilinearLayer, embed } from '../../pipeline/decompose/layer.ts';
import { interactionMatrix, oneHot, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { trainClassifier } from '../helpers/train.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

function toyData(n: number, dim: number, seed: number) {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: n * dim }, () => rng.uniform());
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  for (let i = 0; i < n; i++) images[i * dim + labels[i]!]! += 2; // a learnable signal
  return imageSet(images, labels, dim);
}

test('uᵀ logits(x) = eᵀ Q_u e on a trained model (TensorFlow.js float32 vs float64 engine)', async () => {
  await selectBackend('auto');
  const shape = { input: 16, embed: 6, hidden: 8, classes: 3 };
  const data = { train: toyData(96, 16, 1), test: toyData(30, 16, 2) };
  const settings = {
    epochs: 3,
    batchSize: 32,
    lr: 0.01,
    weightDecay: 0.1,
    warmupFraction: 0.1,
    latentNoise: 0.2,
    seed: 7,
  };
  const { weights } = await trainClassifier(shape, settings, data, memoryLog());
  const layer = bilinearLayer(bilinearClassifier.bilinearLayers(shape, weights)[0]!);
  const layout = bilinearClassifier.layout(shape);
  const x = data.test.images.subarray(0, 5 * 16);
  const logits = tf.tidy(() => {
    const params = Object.fromEntries(
      Object.entries(weights).map(([name, w]) => [name, tf.tensor(w, layout[name])]),
    );
    return bilinearClassifier
      .forward(shape, params, tf.tensor2d(x, [5, 16]))
      .output.arraySync() as number[][];
  });
  const u = Float64Array.from([0.5, -1, 2]);
  for (let r = 0; r < 5; r++) {
    const e = embed(layer, x.subarray(r * 16, (r + 1) * 16));
    for (const dir of [oneHot(3, 0), oneHot(3, 2), u]) {
      const expected = logits[r]!.reduce((s, l, a) => s + l * dir[a]!, 0);
      // float32 forward pass: agreement to float32 rounding of the terms (~1e-6 relative)
      assertClose(quadraticForm(interactionMatrix(layer, dir), e), expected, {
        atol: 1e-4,
        rtol: 1e-4,
        label: `row ${r}`,
      });
    }
  }
});
