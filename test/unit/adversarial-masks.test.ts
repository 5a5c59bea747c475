/**
 * Adversarial masks: the encoders are the decoders' dual basis, a mask keeps the k largest
 * entries scaled to 1, its nulls keep its values (permuted) or its norm (noise), the batch forward
 * pass agrees with the reference one, bad settings are refused, and a full run on a random layer
 * gives one row per target, variant, null and k with the sizes it claims.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adversarialMasks,
  checkMaskSettings,
  decoderRows,
  encoderRows,
  noiseOfNorm,
  permutedMask,
  predict,
  topKMask,
  type MaskSettings,
} from '../../pipeline/analysis/adversarial-masks.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, oneHot } from '../../pipeline/decompose/interaction.ts';
import { layerOutput } from '../../pipeline/decompose/layer.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { randomLayer } from '../helpers/random-layer.ts';

const LAYER = { d: 12, m: 16, c: 4, input: 36 };

test('encoders are the dual basis of the decoders: g_i · f_j = δ_ij', () => {
  const layer = randomLayer(1, LAYER);
  const eig = symmetricEigen(interactionMatrix(layer, oneHot(4, 2)), LAYER.d);
  for (const sign of [1, -1] as const) {
    const F = decoderRows(layer, eig, 3, sign);
    // a decoder is Eᵀ v for an eigenvector of that sign
    const G = encoderRows(F);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const dot = G[i]!.reduce((s, g, p) => s + g * F[j]![p]!, 0);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, `g_${i} · f_${j} = ${dot}`);
      }
  }
  assert.throws(() => decoderRows(layer, eig, LAYER.d + 1, 1), /eigenvectors of that sign/);
});

test('a mask keeps the k largest positive entries on its support, the largest scaled to 1; its nulls keep values or norm', () => {
  const pattern = Float64Array.from([0.5, -3, 2, 1, 0, 4, -1, 0.25]);
  assert.deepEqual(Array.from(topKMask(pattern, 3, [0, 1, 2, 3, 4, 5, 6, 7])), [0, 0, 0.5, 0.25, 0, 1, 0, 0]);
  // on a support without pixel 5; never a negative entry, even when k asks for more
  assert.deepEqual(Array.from(topKMask(pattern, 8, [0, 1, 2, 6])), [0.25, 0, 1, 0, 0, 0, 0, 0]);
  const rng = new Rng(3);
  const mask = topKMask(pattern, 3, [0, 1, 2, 3, 4, 5, 6, 7]);
  const moved = permutedMask(mask, [0, 1, 2, 3, 4, 5, 6, 7], rng);
  assert.deepEqual(Array.from(moved).sort(), Array.from(mask).sort(), 'the same values');
  const onSupport = permutedMask(Float64Array.from([0, 1, 0, 0.5]), [1, 3], rng);
  assert.equal(onSupport[0], 0);
  assert.equal(onSupport[2], 0);
  const noise = noiseOfNorm(8, [1, 2, 5], 2.5, rng);
  assert.ok(Math.abs(Math.hypot(...noise) - 2.5) < 1e-12);
  assert.ok(noise.every((x, p) => x >= 0 && ([1, 2, 5].includes(p) || x === 0)));
});

test('the batch forward pass predicts what the reference forward pass does', () => {
  const layer = randomLayer(2, LAYER);
  const rng = new Rng(4);
  const n = 20;
  const X = Float64Array.from({ length: n * LAYER.input }, () => rng.uniform());
  const got = predict(layer, X, n);
  for (let r = 0; r < n; r++) {
    const out = layerOutput(layer, X.subarray(r * LAYER.input, (r + 1) * LAYER.input));
    assert.equal(got[r], out.indexOf(Math.max(...out)), `row ${r}`);
  }
});

const SETTINGS: MaskSettings = {
  targets: [0, 3],
  decoders: 3,
  ks: [2, 8],
  perClass: 5,
  draws: 2,
  rareBelow: 0.05,
  seed: 1,
};

test('bad settings are refused with what is wrong: an unknown class, a mask larger than the image', () => {
  assert.throws(
    () => checkMaskSettings({ ...SETTINGS, targets: [4] }, 4, 36, 'masks'),
    /target class 4 is not a class/,
  );
  assert.throws(
    () => checkMaskSettings({ ...SETTINGS, ks: [20, 37] }, 4, 36, 'masks'),
    /a mask of 37 pixels does not fit an image of 36 pixels/,
  );
  assert.throws(() => checkMaskSettings({ ...SETTINGS, targets: [] }, 4, 36, 'masks'), /no target classes/);
});

test('a run gives a row per target, direction, variant, null and k, on the images it names', () => {
  const layer = randomLayer(5, LAYER);
  const rng = new Rng(6);
  const images = (n: number) => {
    const x = Float32Array.from({ length: n * LAYER.input }, (_, i) =>
      i % LAYER.input < 6 ? 0 : rng.uniform(),
    );
    return imageSet(
      x,
      Uint8Array.from({ length: n }, (_, i) => i % 4),
      LAYER.input,
    );
  };
  const eigs = Array.from({ length: 4 }, (_, a) =>
    symmetricEigen(interactionMatrix(layer, oneHot(4, a)), LAYER.d),
  );
  const result = adversarialMasks(layer, eigs, { train: images(40), test: images(40) }, SETTINGS);
  assert.equal(result.rarePixels, 6, 'the six pixels never lit in training');
  // per target: push × (encoder, feature, rare pixels) and suppress × encoder; three nulls; two ks
  assert.equal(result.rows.length, 2 * 4 * 3 * 2);
  for (const row of result.rows) {
    assert.equal(row.images, row.direction === 'push' ? 15 : 5);
    assert.ok(row.success >= 0 && row.success <= 1);
    if (row.variant === 'rare-pixels') assert.ok(row.norm <= Math.sqrt(Math.min(row.k, 6)) + 1e-12);
  }
  // success is a share of the images named, so it is a whole number of them
  for (const row of result.rows)
    assert.ok(
      Math.abs(row.success * row.images - Math.round(row.success * row.images)) < 1e-9 ||
        row.method !== 'mask',
    );
  assert.equal(result.masks.length, 2);
  assert.ok(result.masks[0]!.every((m) => Math.max(...m) === 1 || Math.max(...m) === 0));
});
