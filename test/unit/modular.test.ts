/**
 * Modular addition: the generated data set and its refusals, the Fourier basis and shares against
 * closed forms, and the Fourier check on a model built by hand from known frequencies, which must
 * recover exactly those frequencies (and the identity uᵀ logits = xᵀ Q_u x on its forward pass).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fourierCheck } from '../../pipeline/analysis/fourier-check.ts';
import { splitOf } from '../../pipeline/data/job.ts';
import { encodePairs, modularDataJob, modularSplitSizes } from '../../pipeline/data/modular.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import {
  bestFrequency,
  fourierBasis,
  frequencyShares,
  matrixFrequencyShares,
} from '../../pipeline/decompose/fourier.ts';
import { interactionMatrix, oneHot, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import { exactModel } from '../../pipeline/analysis/truncation-study.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import { paramTensors } from '../../pipeline/models/kind.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { handModularWeights } from '../helpers/hand-modular.ts';
import { runJob } from '../helpers/run-job.ts';

test('the data set holds every pair once, labelled (a + b) mod P, in disjoint train, validation and test splits', async () => {
  const P = 7;
  const data = await runJob(modularDataJob({ modulus: P, trainFraction: 0.5, seed: 3 }));
  assert.deepEqual([data.meta.trainSize, data.meta.validationSize, data.meta.testSize], [25, 12, 12]);
  const seen = new Set<string>();
  for (const set of Object.values(splitOf(data))) {
    assert.equal(set.dim, 2 * P);
    for (let r = 0; r < set.n; r++) {
      const row = set.images.subarray(r * 2 * P, (r + 1) * 2 * P);
      const a = row.indexOf(1);
      const b = row.indexOf(1, P) - P;
      assert.equal(
        row.reduce((s, x) => s + x, 0),
        2,
        'two ones per input',
      );
      assert.ok(a >= 0 && a < P && b >= 0 && b < P);
      assert.equal(set.labels[r], (a + b) % P);
      seen.add(`${a},${b}`);
    }
  }
  assert.equal(seen.size, P * P, 'every pair, in exactly one split');
  const again = await runJob(modularDataJob({ modulus: P, trainFraction: 0.5, seed: 3 }));
  assert.equal(again.meta.hash, data.meta.hash, 'seeded');
  const other = await runJob(modularDataJob({ modulus: P, trainFraction: 0.5, seed: 4 }));
  assert.notEqual(other.meta.hash, data.meta.hash);
});

test('bad settings are refused before a job exists: P < 3, an empty split', () => {
  for (const modulus of [2, 1, 0, 3.5])
    assert.throws(
      () => modularDataJob({ modulus, trainFraction: 0.5, seed: 0 }),
      /the modulus P must be a whole number ≥ 3/,
    );
  assert.throws(() => modularDataJob({ modulus: 300, trainFraction: 0.5, seed: 0 }), /at most 255/);
  for (const trainFraction of [0, 1, 0.95, -0.1])
    assert.throws(
      () => modularSplitSizes({ modulus: 3, trainFraction, seed: 0 }),
      /every split needs at least one/,
    );
  assert.deepEqual(modularSplitSizes({ modulus: 3, trainFraction: 0.5, seed: 0 }), {
    train: 5,
    validation: 2,
    test: 2,
  });
});

test('the Fourier basis is orthonormal, odd and even P, and a single frequency has share 1 at any phase', () => {
  for (const P of [3, 8, 31, 113]) {
    const B = fourierBasis(P);
    assert.equal(B.frequencies.length, Math.floor(P / 2) + 1);
    for (let i = 0; i < P; i++)
      for (let j = 0; j < P; j++) {
        let dot = 0;
        for (let t = 0; t < P; t++) dot += B.rows[i * P + t]! * B.rows[j * P + t]!;
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `P = ${P}: row ${i} · row ${j} = ${dot}`);
      }
  }
  const P = 31;
  const B = fourierBasis(P);
  const wave = Float64Array.from({ length: 2 * P }, (_, i) =>
    i < P ? Math.cos((2 * Math.PI * 5 * i) / P + 0.7) : 2 * Math.sin((2 * Math.PI * 5 * (i - P)) / P - 1.1),
  );
  const shares = frequencyShares(B, wave);
  assert.deepEqual(bestFrequency(shares).frequency, 5);
  assert.ok(Math.abs(shares[5]! - 1) < 1e-12);
  const noise = Float64Array.from(new Rng(1).normalArray(2 * P));
  const total = frequencyShares(B, noise).reduce((s, x) => s + x, 0);
  assert.ok(Math.abs(total - 1) < 1e-12, `shares sum to 1, got ${total}`);
  // a matrix coupling a's and b's frequency 5 lies in frequency 5; one coupling 5 with 6 in none
  const q = new Float64Array(4 * P * P);
  const cos = (f: number, t: number) => Math.cos((2 * Math.PI * f * t) / P);
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      q[i * 2 * P + P + j] = cos(5, i) * cos(5, j);
      q[(P + j) * 2 * P + i] = cos(5, i) * cos(5, j);
    }
  assert.ok(Math.abs(matrixFrequencyShares(B, q)[5]! - 1) < 1e-12);
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      q[i * 2 * P + P + j] = cos(5, i) * cos(6, j);
      q[(P + j) * 2 * P + i] = cos(5, i) * cos(6, j);
    }
  assert.ok(matrixFrequencyShares(B, q).every((x) => Math.abs(x) < 1e-12));
});

const HAND = {
  P: 31,
  parts: [
    { frequency: 3, amplitude: 3 },
    { frequency: 7, amplitude: 2.5 },
    { frequency: 11, amplitude: 2 },
  ],
};

function handLayer() {
  const weights = handModularWeights(HAND.P, HAND.parts);
  const shape = { input: 2 * HAND.P, embed: null, hidden: 4 * HAND.parts.length, classes: HAND.P };
  return { weights, shape, layer: bilinearLayer(bilinearClassifier.bilinearLayers(shape, weights)[0]!) };
}

test('on a model built from frequencies 3, 7 and 11, the Fourier check recovers exactly those', () => {
  const { P } = HAND;
  const { layer } = handLayer();
  const all = encodePairs(
    Array.from({ length: P * P }, (_, i) => i),
    P,
  );
  assert.equal(exactModel(layer, imageSet(all.inputs, all.labels, 2 * P)).accuracy, 1, 'it adds mod P');
  const eigs = Array.from({ length: P }, (_, c) =>
    symmetricEigen(interactionMatrix(layer, oneHot(P, c)), 2 * P),
  );
  const check = fourierCheck(layer, eigs, { top: 12, chanceDraws: 200, seed: 5 });
  assert.deepEqual(check.keyFrequencies, [3, 7, 11]);
  const energy = HAND.parts.map((p) => p.amplitude ** 2);
  const sum = energy.reduce((a, b) => a + b, 0);
  HAND.parts.forEach((p, i) =>
    assert.ok(Math.abs(check.energy[p.frequency]! - energy[i]! / sum) < 1e-9, `energy of ${p.frequency}`),
  );
  for (const r of check.residues)
    r.vectors.forEach((v, i) => {
      // |λ| = α P / 4 for the four eigenvalues of each frequency, strongest first (to the
      // float32 rounding of the weights)
      const part = HAND.parts[Math.floor(i / 4)]!;
      const lambda = (part.amplitude * P) / 4;
      assert.ok(Math.abs(Math.abs(v.eigenvalue) - lambda) < 1e-6 * lambda, `λ ${v.eigenvalue}`);
      assert.equal(v.frequency, part.frequency);
      assert.ok(Math.abs(v.share - 1) < 1e-9, `share ${v.share}`);
    });
  assert.ok(Math.abs(check.share.mean - 1) < 1e-9);
  assert.ok(check.chance.hi! < 0.2, `chance ${JSON.stringify(check.chance)}`);
  assert.ok(check.shuffled.hi! < 0.5, `shuffled ${JSON.stringify(check.shuffled)}`);
  assert.equal(check.chance.n, 200);
  assert.equal(check.share.n, P, 'the interval is over residues');
});

test("uᵀ logits = xᵀ Q_u x on the model kind's own forward pass, for random u and every pair", async () => {
  await selectBackend('auto');
  const { P } = HAND;
  const { weights, shape, layer } = handLayer();
  const all = encodePairs(
    Array.from({ length: P * P }, (_, i) => i),
    P,
  );
  const params = paramTensors(bilinearClassifier, shape, weights);
  const logits = tf.tidy(() =>
    bilinearClassifier.forward(shape, params, tf.tensor2d(all.inputs, [P * P, 2 * P])).output.arraySync(),
  ) as number[][];
  tf.dispose(Object.values(params));
  const rng = new Rng(9);
  for (let draw = 0; draw < 3; draw++) {
    const u = Float64Array.from(rng.normalArray(P));
    const q = interactionMatrix(layer, u);
    for (let i = 0; i < P * P; i += 37) {
      const x = all.inputs.subarray(i * 2 * P, (i + 1) * 2 * P);
      const direct = logits[i]!.reduce((s, l, c) => s + u[c]! * l, 0);
      const form = quadraticForm(q, x);
      assert.ok(Math.abs(direct - form) <= 1e-4 * (1 + Math.abs(form)), `pair ${i}: ${direct} vs ${form}`);
    }
  }
});
