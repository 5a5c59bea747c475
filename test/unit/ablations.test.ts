/**
 * The regularization ablations: every metric moves the right way on constructed layers whose
 * eigenvectors are known (smooth vs noisy, central vs peripheral, compact vs spread, one feature
 * vs many, identical vs unrelated runs); bad study settings fail at plan time naming the field;
 * adding a grid cell adds only that cell's jobs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyseRun, type AblationSettings } from '../../pipeline/analysis/ablation.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, oneHot } from '../../pipeline/decompose/interaction.ts';
import { eigenvectorsNeeded, runSimilarity } from '../../pipeline/decompose/metrics.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import { correlation, distinctRuns } from '../../pipeline/analysis/ablation-study.ts';
import { alignedTiles } from '../../pipeline/figures/ablations.ts';
import {
  ABLATION_PROFILES,
  checkStudy,
  planStudy,
  regimesOf,
  trainSettings,
  type StudyProfile,
} from '../../pipeline/reports/ablations.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

const H = 8;
const W = 8;
const SETTINGS: AblationSettings = { topFeatures: 1, maxK: 4, height: H, width: W };

/** A smooth bump centred at (cy, cx) on the 8×8 grid. */
function bump(cy: number, cx: number, radius = 1.5): Float64Array {
  return Float64Array.from({ length: H * W }, (_, p) =>
    Math.exp(-((Math.floor(p / W) - cy) ** 2 + ((p % W) - cx) ** 2) / (2 * radius ** 2)),
  );
}

/**
 * A layer without embedding whose class a has Q_a = Σ_j s_j f_{a,j} f_{a,j}ᵀ: one hidden unit per
 * feature with W_h = V_h = f and P[a, h] = s. Its eigenvectors are the (orthogonalised) features.
 */
function layerFrom(features: { f: Float64Array; s: number }[][]) {
  const c = features.length;
  const units = features.flat();
  const m = units.length;
  const d = H * W;
  const Wm = new Float64Array(m * d);
  const P = new Float64Array(c * m);
  let h = 0;
  features.forEach((mine, a) =>
    mine.forEach(({ f, s }) => {
      Wm.set(f, h * d);
      P[a * m + h] = s;
      h++;
    }),
  );
  const layer = bilinearLayer({
    W: { data: Wm, rows: m, cols: d },
    V: { data: Wm, rows: m, cols: d },
    P: { data: P, rows: c, cols: m },
  });
  const eigs = Array.from({ length: c }, (_, a) => symmetricEigen(interactionMatrix(layer, oneHot(c, a)), d));
  return { layer, eigs };
}

/**
 * Images lit only in the centre (the periphery is the 1-pixel border), labelled by which feature they match
 * best.
 */
function data(n: number, seed: number, classes: Float64Array[]) {
  const rng = new Rng(seed);
  const images = new Float32Array(n * H * W);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const a = r % classes.length;
    labels[r] = a;
    for (let p = 0; p < H * W; p++) {
      const [y, x] = [Math.floor(p / W), p % W];
      const inside = y > 0 && y < H - 1 && x > 0 && x < W - 1;
      images[r * H * W + p] = inside ? Math.max(0, classes[a]![p]! + 0.1 * rng.normal()) : 0;
    }
  }
  return imageSet(images, labels, H * W);
}

const LEFT = bump(3.5, 2);
const RIGHT = bump(3.5, 5);
const DATA = { train: data(200, 1, [LEFT, RIGHT]), validation: data(100, 2, [LEFT, RIGHT]) };

function scores(features: { f: Float64Array; s: number }[][], settings = SETTINGS) {
  const { layer, eigs } = layerFrom(features);
  return analyseRun(layer, eigs, DATA, settings);
}

test('a noisier eigenvector has higher total variation', () => {
  const rng = new Rng(5);
  const noisy = (f: Float64Array) => Float64Array.from(f, (x) => x + 0.3 * rng.normal());
  const clean = scores([[{ f: LEFT, s: 1 }], [{ f: RIGHT, s: 1 }]]);
  const rough = scores([[{ f: noisy(LEFT), s: 1 }], [{ f: noisy(RIGHT), s: 1 }]]);
  assert.ok(
    rough.scores.totalVariation > 1.5 * clean.scores.totalVariation,
    `TV ${rough.scores.totalVariation} (noisy) vs ${clean.scores.totalVariation} (smooth)`,
  );
});

test('weight on never-lit border pixels raises periphery mass; a wider feature has more support', () => {
  const border = Float64Array.from({ length: H * W }, (_, p) =>
    Math.floor(p / W) === 0 || p % W === 0 ? 0.5 : 0,
  );
  const plus = (a: Float64Array, b: Float64Array) => a.map((x, i) => x + b[i]!);
  const central = scores([[{ f: LEFT, s: 1 }], [{ f: RIGHT, s: 1 }]]);
  const peripheral = scores([[{ f: plus(LEFT, border), s: 1 }], [{ f: plus(RIGHT, border), s: 1 }]]);
  assert.ok(
    central.scores.peripheryMass < 0.1,
    `central features put ${central.scores.peripheryMass} on the periphery`,
  );
  assert.ok(peripheral.scores.peripheryMass > central.scores.peripheryMass + 0.2);
  const wide = scores([[{ f: bump(3.5, 2, 3), s: 1 }], [{ f: bump(3.5, 5, 3), s: 1 }]]);
  assert.ok(
    wide.scores.featureSupport > central.scores.featureSupport,
    `support ${wide.scores.featureSupport} (wide) vs ${central.scores.featureSupport}`,
  );
});

test('more features of equal weight raise the effective rank; a slower truncation curve needs a larger k', () => {
  const one = scores([[{ f: LEFT, s: 1 }], [{ f: RIGHT, s: 1 }]]);
  assertClose(one.scores.effectiveRank, 1, { atol: 1e-9, label: 'one feature per class' });
  assert.equal(one.scores.eigenvectorsNeeded, 1);
  assert.ok(one.scores.accuracy > 0.95, `accuracy ${one.scores.accuracy}`);
  // Each class's logit is now the sum of three nearly disjoint unit-norm parts: three equal eigenvalues.
  const unit = (f: Float64Array) => f.map((x) => x / Math.hypot(...f));
  const parts = (f: Float64Array) =>
    [unit(f), unit(bump(0.5, 0.5, 0.7)), unit(bump(6.5, 6.5, 0.7))].map((g) => ({ f: g, s: 1 }));
  const three = scores([parts(LEFT), parts(RIGHT)]);
  assert.ok(three.scores.effectiveRank > 2.5, `effective rank ${three.scores.effectiveRank}`);
  const fast = [
    { k: 1, accuracy: 0.95 },
    { k: 2, accuracy: 0.96 },
  ];
  const slow = [
    { k: 1, accuracy: 0.5 },
    { k: 2, accuracy: 0.8 },
    { k: 3, accuracy: 0.955 },
  ];
  assert.ok(eigenvectorsNeeded(slow, 0.96)! > eigenvectorsNeeded(fast, 0.96)!);
});

test('run similarity: identical runs give 1 whatever the signs and scales, unrelated runs much less', () => {
  const rng = new Rng(9);
  const random = () => Float64Array.from({ length: 64 }, () => rng.normal());
  const run = [
    [random(), random()],
    [random(), random()],
  ];
  assertClose(
    runSimilarity(
      run,
      run.map((fs) => [...fs].reverse().map((f) => f.map((x) => -2 * x))),
    ),
    1,
    { atol: 1e-12, label: 'same features, other order, signs and scales' },
  );
  const other = [
    [random(), random()],
    [random(), random()],
  ];
  assert.ok(runSimilarity(run, other) < 0.5);
  assert.throws(() => runSimilarity(run, [run[0]!]), /same, non-zero number of outputs/);
});

test('gallery tiles: unit norm, signs aligned to the reference, one limit', () => {
  const ref = Float64Array.from([1, 2, 0]);
  const { tiles, limit } = alignedTiles([Float64Array.from([-2, -4, 0]), Float64Array.from([0, 0, 3])], ref);
  assertClose(tiles[0]!, [1 / Math.sqrt(5), 2 / Math.sqrt(5), 0], {
    atol: 1e-12,
    label: 'flipped and normalised',
  });
  assertClose(tiles[1]!, [0, 0, 1], { atol: 1e-12, label: 'orthogonal: kept' });
  assert.ok(limit > 0 && limit <= 1);
  assertClose(correlation([1, 2, 3], [2, 4, 6.5]), 0.997949, { atol: 1e-6, label: 'Pearson r' });
});

const DEFAULT = ABLATION_PROFILES.default as StudyProfile;

test('every profile is a valid study; bad settings fail at plan time naming the field', () => {
  for (const [name, profile] of Object.entries(ABLATION_PROFILES)) checkStudy(profile, name);
  const bad: [object, RegExp][] = [
    [{ latentNoise: [0, -0.1] }, /latentNoise\[1\]: a latent noise level must be ≥ 0/],
    [{ weightDecay: ['a'] }, /weightDecay\[0\]: a weight decay must be a number/],
    [{ weightDecay: [0, Number.NaN] }, /weightDecay\[1\]/],
    [{ latentNoise: [] }, /latentNoise: the grid needs at least one latent noise level/],
    [
      { middle: { latentNoise: 0.2, weightDecay: 0.5 } },
      /middle\.latentNoise: 0\.2 is not one of the grid's values/,
    ],
    [{ comparators: { ...DEFAULT.comparators, l1: -1 } }, /comparators\.l1: the L1 coefficient must be ≥ 0/],
    [
      { comparators: { ...DEFAULT.comparators, dropout: 1 } },
      /comparators\.dropout: the dropout rate must be below 1/,
    ],
    [{ seeds: [0, 1] }, /seeds: at least 3 seeds/],
    [{ weightDecay: [0, 0.1, 0.1, 0.5] }, /weightDecay\[2\]: 0\.1 is listed twice/],
  ];
  for (const [change, message] of bad) {
    assert.throws(
      () => checkStudy({ ...DEFAULT, ...change }, 'default'),
      (error: Error & { exitCode?: number }) => {
        assert.match(error.message, /^ablations \(default profile\): /);
        assert.match(error.message, message);
        assert.equal(error.exitCode, 2);
        return true;
      },
    );
  }
});

test('"none" is the grid\'s (0, 0) cell; adding a grid value adds only its cells\' jobs', async () => {
  const backend = await selectBackend('auto');
  const ctx = {
    profile: 'default' as const,
    backend,
    cacheDir: mkdtempSync(join(tmpdir(), 'ablations-')),
    dataDirs: {},
  };
  const runner = new JobRunner({ cache: new CacheStore(ctx.cacheDir), log: memoryLog(), force: false });
  const keys = (p: StudyProfile) =>
    new Set(Object.values(planStudy(ctx, p).models).map((job) => runner.key(job)));
  const small = { ...DEFAULT, latentNoise: [0, 0.33] };
  const before = keys(small);
  const after = keys({ ...small, latentNoise: [0, 0.33, 0.66] });
  for (const key of before) assert.ok(after.has(key), 'an existing cell would retrain');
  assert.equal(after.size - before.size, 2 * DEFAULT.weightDecay.length * DEFAULT.seeds.length);
  const regimes = regimesOf(small);
  const none = trainSettings(
    regimes.find((r) => r.id === 'none')!,
    10,
    0,
  );
  const corner = trainSettings(
    regimes.find((r) => r.id === 'latent-0-decay-0')!,
    10,
    0,
  );
  assert.deepEqual(none, corner);
  assert.equal(before.size, 2 * (regimes.length - 1) * DEFAULT.seeds.length);
});

test('"none" points are dropped when the grid has a (0, 0) cell, kept when it has none', () => {
  const regimes = regimesOf(DEFAULT);
  const scores = {
    accuracy: 0.9,
    effectiveRank: 2,
    featureSupport: 0.5,
    peripheryMass: 0.1,
    totalVariation: 10,
    eigenvectorsNeeded: 3,
  };
  const point = (id: string) => ({
    dataset: 'mnist',
    regime: regimes.find((r) => r.id === id)!,
    seed: 0,
    scores,
    features: [],
    crossSeedSimilarity: 0.5,
    id,
  });
  assert.deepEqual(
    distinctRuns([point('latent-0-decay-0'), point('none'), point('l1')]).map((p) => p.regime.id),
    ['latent-0-decay-0', 'l1'],
  );
  assert.deepEqual(
    distinctRuns([point('latent-0p1-decay-0'), point('none')]).map((p) => p.regime.id),
    ['latent-0p1-decay-0', 'none'],
  );
});
