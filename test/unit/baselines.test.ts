/**
 * The baselines study: on a trained tiny model every method at k = d is the full model; curves'
 * intervals come from the per-seed (and per-draw) values; impossible studies fail at plan time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interval } from '../../pipeline/analysis/stats.ts';
import { truncationStudy, type TruncationResult } from '../../pipeline/analysis/truncation-study.ts';
import { artifact } from '../../pipeline/cache/artifact.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, oneHot } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import { curveRows, type StudyRun } from '../../pipeline/figures/baselines.ts';
import { checkStudy } from '../../pipeline/reports/baselines.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { trainClassifier } from '../helpers/train.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

function toyData(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 4);
  const images = Float32Array.from({ length: n * 16 }, (_, k) => rng.uniform() * 0.5 + (k % 16 === labels[Math.floor(k / 16)]! * 4 ? 1 : 0));
  return imageSet(images, labels, 16);
}

test('on a trained tiny model, eigen, random and PCA truncation at k = d all equal the full model', async () => {
  await selectBackend('auto');
  const d = 6;
  const data = { train: toyData(128, 1), test: toyData(64, 2) };
  const shape = { input: 16, embed: d, hidden: 8, classes: 4 };
  const { weights } = await trainClassifier(shape, { epochs: 15, batchSize: 32, lr: 0.02, weightDecay: 0.1, warmupFraction: 0.1, latentNoise: 0, seed: 2 }, data, memoryLog());
  const layer = bilinearLayer(bilinearClassifier.bilinearLayers(shape, weights)[0]!);
  const eigs = Array.from({ length: 4 }, (_, a) => symmetricEigen(interactionMatrix(layer, oneHot(4, a)), d));
  const result = truncationStudy(layer, eigs, data, { ks: [1, 3, d], randomDraws: 3, pcaSample: 128, seed: 5 });
  assert.ok(result.fullAccuracy > 0.5, `the tiny model learned nothing (${result.fullAccuracy})`);
  const last = result.ks.length - 1;
  for (const [name, curve] of [['eigen', result.eigen], ['pca', result.pca], ...result.random.map((c, i) => [`random ${i}`, c] as const)] as const) {
    assert.equal(curve.accuracy[last], result.fullAccuracy, `${name}: accuracy at k = d`);
    assertClose(curve.r2[last]!, 1, { atol: 1e-9, label: `${name}: R² at k = d` });
    // √(‖Q‖² − ‖M‖²) at k = d is the square root of rounding: ~1e-8, not 1e-16
    assertClose(curve.relativeError[last]!, 0, { atol: 1e-7, label: `${name}: relative error at k = d` });
  }
  assert.throws(() => truncationStudy(layer, eigs, data, { ks: [1, d + 1], randomDraws: 1, pcaSample: 10, seed: 1 }), /k = 7 is not a whole number in \[1, 6\]/);
});

test('curve intervals are computed from the per-seed values, and from seeds × draws for random bases', () => {
  const curve = (acc: number[]) => ({ accuracy: acc, r2: acc, relativeError: acc });
  const results: TruncationResult[] = [
    { ks: [1, 2], fullAccuracy: 0.9, eigen: curve([0.5, 0.8]), random: [curve([0.1, 0.2]), curve([0.2, 0.3])], pca: curve([0.3, 0.4]) },
    { ks: [1, 2], fullAccuracy: 0.8, eigen: curve([0.7, 0.9]), random: [curve([0.15, 0.25]), curve([0.05, 0.35])], pca: curve([0.2, 0.6]) },
  ];
  const runs: StudyRun[] = results.map((_, i) => ({ dataset: 'toy', size: 2, seed: i, truncation: `t${i}`, model: `m${i}`, eigen: `e${i}` }));
  const inputs = Object.fromEntries(results.map((r, i) => [`t${i}`, { ...artifact({ meta: r }), kind: 'analysis/truncation' }]));
  const rows = curveRows(runs, inputs, 'accuracy');
  const row = (method: RegExp, k: number) => rows.find((r) => method.test(r.method) && r.k === k)!;
  const check = (method: RegExp, k: number, values: number[]) => {
    const expected = interval(values);
    const got = row(method, k);
    assert.equal(got.n, values.length);
    assertClose([got.mean, got.lo, got.hi], [expected.mean, expected.lo, expected.hi], { atol: 1e-6, label: `${method} k = ${k}` });
  };
  check(/eigen/, 1, [0.5, 0.7]);
  check(/eigen/, 2, [0.8, 0.9]);
  check(/random/, 1, [0.1, 0.2, 0.15, 0.05]);
  check(/principal/, 2, [0.4, 0.6]);
  check(/full/, 1, [0.9, 0.8]);
});

test('an impossible study fails at plan time, naming what is wrong', () => {
  const base = { sizes: [8], seeds: [0, 1], randomDraws: 2, ks: [1, 2], epochs: {}, caps: { mnist: {}, 'fashion-mnist': {} }, pcaSample: 10 };
  assert.throws(() => checkStudy({ ...base, seeds: [0] }), /at least 2 seeds/);
  assert.throws(() => checkStudy({ ...base, randomDraws: 0 }), /randomDraws must be at least 1, got 0/);
  assert.throws(() => checkStudy({ ...base, ks: [] }), /hidden size 8: the k grid is empty/);
  assert.throws(() => checkStudy({ ...base, sizes: [] }), /no hidden sizes/);
});
