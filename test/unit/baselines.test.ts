/**
 * The baselines study: on a trained tiny model every method at k = d is the full model (the class
 * principal basis included); curves' intervals are t intervals over seeds, with random draws
 * averaged within each seed first; the class-mismatched null equals the matched similarity only
 * when classes coincide; impossible studies fail at plan time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nestedInterval, tInterval } from '../../pipeline/analysis/stats.ts';
import {
  exactModel,
  truncationStudy,
  type TruncationResult,
} from '../../pipeline/analysis/truncation-study.ts';
import { artifact } from '../../pipeline/cache/artifact.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, oneHot, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer, embed } from '../../pipeline/decompose/layer.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import { curveRows, neededOf, type StudyRun } from '../../pipeline/figures/baselines.ts';
import {
  matchedSimilarity,
  mismatchedSimilarity,
  pairSimilarities,
  runSimilarity,
} from '../../pipeline/decompose/metrics.ts';
import { checkStudy } from '../../pipeline/reports/baselines.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { trainClassifier } from '../helpers/train.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

function toyData(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 4);
  const images = Float32Array.from(
    { length: n * 16 },
    (_, k) => rng.uniform() * 0.5 + (k % 16 === labels[Math.floor(k / 16)]! * 4 ? 1 : 0),
  );
  return imageSet(images, labels, 16);
}

test('on a trained tiny model, eigen, random and both PCA truncations at k = d all equal the full model', async () => {
  await selectBackend('auto');
  const d = 6;
  const data = { train: toyData(128, 1), test: toyData(64, 2) };
  const shape = { input: 16, embed: d, hidden: 8, classes: 4 };
  const { weights } = await trainClassifier(
    shape,
    { epochs: 15, batchSize: 32, lr: 0.02, weightDecay: 0.1, warmupFraction: 0.1, latentNoise: 0, seed: 2 },
    data,
    memoryLog(),
  );
  const layer = bilinearLayer(bilinearClassifier.bilinearLayers(shape, weights)[0]!);
  const eigs = Array.from({ length: 4 }, (_, a) => symmetricEigen(interactionMatrix(layer, oneHot(4, a)), d));
  const result = truncationStudy(layer, eigs, data, { maxK: d, randomDraws: 3, pcaSample: 128, seed: 5 });
  assert.ok(result.fullAccuracy > 0.5, `the tiny model learned nothing (${result.fullAccuracy})`);
  assert.deepEqual(result.ks, [1, 2, 3, 4, 5, 6]);
  // the shared basis holds c·k = 4k directions, all d = 6 from k = 2
  assert.deepEqual(result.sharedDirections, [4, 6, 6, 6, 6, 6]);
  const last = d - 1;
  const methods = [
    ['eigen', result.eigen],
    ['class PCA', result.pcaClass],
    ['shared PCA', result.pcaShared],
    ...result.random.map((c, i) => [`random ${i}`, c] as const),
  ] as const;
  for (const [name, curve] of methods) {
    assert.equal(curve.accuracy[last], result.fullAccuracy, `${name}: accuracy at k = d`);
    assertClose(curve.r2[last]!, 1, { atol: 1e-9, label: `${name}: R² at k = d` });
    // √(‖Q‖² − ‖M‖²) at k = d is the square root of rounding: ~1e-8, not 1e-16
    assertClose(curve.relativeError[last]!, 0, { atol: 1e-7, label: `${name}: relative error at k = d` });
  }
  // the shared basis is complete from k = 2 on; the class basis only at k = d
  assertClose(result.pcaShared.r2[1]!, 1, { atol: 1e-9, label: 'shared PCA at c·k ≥ d' });
  assert.throws(
    () => truncationStudy(layer, eigs, data, { maxK: d + 1, randomDraws: 1, pcaSample: 10, seed: 1 }),
    /maxK = 7 is not a whole number in \[1, 6\]/,
  );
});

const curve = (acc: number[]) => ({ accuracy: acc, r2: acc, relativeError: acc });
const RESULTS: TruncationResult[] = [
  {
    ks: [1, 2],
    fullAccuracy: 0.9,
    eigen: curve([0.5, 0.8]),
    random: [curve([0.1, 0.2]), curve([0.2, 0.3])],
    pcaClass: curve([0.3, 0.4]),
    pcaShared: curve([0.35, 0.5]),
    sharedDirections: [2, 2],
  },
  {
    ks: [1, 2],
    fullAccuracy: 0.8,
    eigen: curve([0.7, 0.9]),
    random: [curve([0.15, 0.25]), curve([0.05, 0.35])],
    pcaClass: curve([0.2, 0.6]),
    pcaShared: curve([0.25, 0.7]),
    sharedDirections: [2, 2],
  },
  {
    ks: [1, 2],
    fullAccuracy: 0.85,
    eigen: curve([0.6, 0.85]),
    random: [curve([0.2, 0.3]), curve([0.1, 0.2])],
    pcaClass: curve([0.25, 0.5]),
    pcaShared: curve([0.3, 0.6]),
    sharedDirections: [2, 2],
  },
];

test('curve intervals: t over seeds; random draws averaged within each seed, never pooled', () => {
  const runs: StudyRun[] = RESULTS.map((_, i) => ({
    dataset: 'toy',
    size: 2,
    epochs: 1,
    seed: i,
    truncation: `t${i}`,
    model: `m${i}`,
    eigen: `e${i}`,
  }));
  const inputs = Object.fromEntries(
    RESULTS.map((r, i) => [`t${i}`, { ...artifact({ meta: r }), kind: 'analysis/truncation' }]),
  );
  const rows = curveRows(runs, inputs, 'accuracy');
  const row = (method: RegExp, k: number) => rows.find((r) => method.test(r.method) && r.k === k)!;
  const check = (
    method: RegExp,
    k: number,
    expected: { mean: number; lo: number | null; hi: number | null; n: number },
  ) => {
    const got = row(method, k);
    assert.equal(got.n, expected.n);
    assertClose([got.mean, got.lo!, got.hi!], [expected.mean, expected.lo!, expected.hi!], {
      atol: 1e-6,
      label: `${method} k = ${k}`,
    });
  };
  check(/eigenvectors/, 1, tInterval([0.5, 0.7, 0.6]));
  check(/eigenvectors/, 2, tInterval([0.8, 0.9, 0.85]));
  check(
    /random/,
    1,
    nestedInterval([
      [0.1, 0.2],
      [0.15, 0.05],
      [0.2, 0.1],
    ]),
  );
  assert.equal(row(/random/, 1).n, 3, 'n counts seeds, not seeds × draws');
  check(/class's top-k principal/, 2, tInterval([0.4, 0.6, 0.5]));
  check(/shared/, 1, tInterval([0.35, 0.25, 0.3]));
  check(/full/, 1, tInterval([0.9, 0.8, 0.85]));
  // a t interval with 3 seeds is 4.30/1.96 = 2.2 times the normal one
  const eigen = row(/eigenvectors/, 1);
  assertClose([(eigen.hi! - eigen.mean) / ((1.96 * 0.1) / Math.sqrt(3))], [4.3026527 / 1.96], {
    atol: 1e-5,
    label: 't width',
  });
});

test('directions needed: every k, within one point of the full model; random on its mean curve', () => {
  const result: TruncationResult = {
    ks: [1, 2, 3],
    fullAccuracy: 0.9,
    eigen: curve([0.5, 0.895, 0.9]),
    random: [curve([0.1, 0.5, 0.9]), curve([0.1, 0.9, 0.88])],
    pcaClass: curve([0.3, 0.4, 0.85]),
    pcaShared: curve([0.89, 0.9, 0.9]),
    sharedDirections: [3, 3, 3],
  };
  assert.equal(neededOf(result, 'eigen'), 2);
  assert.equal(neededOf(result, 'random'), 3, 'mean of the draws: 0.1, 0.7, 0.89');
  assert.equal(neededOf(result, 'pcaClass'), null);
  assert.equal(neededOf(result, 'pcaShared'), 1);
});

test('the class-mismatched null equals the matched similarity only when the classes coincide', () => {
  const rng = new Rng(9);
  const vec = () => Float64Array.from({ length: 30 }, () => rng.normal());
  const classes = Array.from({ length: 4 }, () => [vec(), vec()]);
  // identical runs: matched similarity is 1, the null is the similarity of different classes
  assertClose([runSimilarity(classes, classes)], [1], { atol: 1e-12, label: 'a run with itself' });
  const nullValue = mismatchedSimilarity(classes, classes);
  assert.ok(nullValue < 0.6, `different random classes should not look alike (${nullValue})`);
  let expected = 0;
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 4; b++)
      if (a !== b) expected += matchedSimilarity(classes[a]!, classes[b]!).mean / 12;
  assertClose([nullValue], [expected], { atol: 1e-12, label: 'mean over a ≠ b' });
  // when every class has the same features, the null is the matched value
  const same = Array.from({ length: 4 }, () => classes[0]!);
  assertClose([mismatchedSimilarity(same, same)], [runSimilarity(same, same)], {
    atol: 1e-12,
    label: 'coinciding classes',
  });
  // symmetric in the two runs
  const other = Array.from({ length: 4 }, () => [vec(), vec()]);
  assertClose([mismatchedSimilarity(classes, other)], [mismatchedSimilarity(other, classes)], {
    atol: 1e-12,
    label: 'symmetry',
  });
  assert.throws(() => mismatchedSimilarity([classes[0]!], [classes[0]!]), /at least 2/);
  // the one-pass form used by the figures equals the two definitions, at every r
  for (const r of [1, 2]) {
    const both = pairSimilarities(classes, other, r);
    const top = (run: Float64Array[][]) => run.map((fs) => fs.slice(0, r));
    assertClose(
      [both.matched, both.mismatched],
      [runSimilarity(top(classes), top(other)), mismatchedSimilarity(top(classes), top(other))],
      { atol: 1e-12, label: `pair similarities r = ${r}` },
    );
  }
});

test('an impossible study fails at plan time, naming what is wrong', () => {
  const base = {
    sizes: [8],
    seeds: [0, 1, 2],
    randomDraws: 2,
    maxK: 2,
    epochs: { mnist: [1, 2], 'fashion-mnist': [2] },
    caps: { mnist: {}, 'fashion-mnist': {} },
    pcaSample: 10,
  };
  assert.throws(() => checkStudy({ ...base, seeds: [0, 1] }), /at least 3 seeds/);
  assert.throws(() => checkStudy({ ...base, randomDraws: 0 }), /randomDraws must be at least 1, got 0/);
  assert.throws(
    () => checkStudy({ ...base, maxK: 0 }),
    /hidden size 8: maxK = 0 is not a whole number in \[1, 8\]/,
  );
  assert.throws(
    () => checkStudy({ ...base, epochs: { mnist: [3, 2], 'fashion-mnist': [2] } }),
    /lengths of mnist must be whole numbers of epochs in ascending order, got 3, 2/,
  );
  assert.throws(() => checkStudy({ ...base, sizes: [] }), /no hidden sizes/);
});

test('the exact model: batched embedding and quadratic forms equal embed() and quadraticForm(), with and without folded biases', () => {
  const rng = new Rng(21);
  const matrix = (rows: number, cols: number) => ({
    data: Float64Array.from({ length: rows * cols }, () => rng.normal()),
    rows,
    cols,
  });
  const vector = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
  const set = toyData(30, 4);
  for (const biases of [undefined, { E: vector(5), W: vector(7), V: vector(7), P: vector(4) }]) {
    const layer = bilinearLayer({
      W: matrix(7, 5),
      V: matrix(7, 5),
      P: matrix(4, 7),
      E: matrix(5, 16),
      ...(biases ? { biases } : {}),
    });
    const { embedded, full } = exactModel(layer, set);
    for (let r = 0; r < set.n; r++) {
      const e = embed(layer, set.images.subarray(r * 16, (r + 1) * 16));
      assertClose(Array.from(embedded.subarray(r * layer.d, (r + 1) * layer.d)), Array.from(e), {
        atol: 1e-12,
        label: `embedding ${r}`,
      });
      for (let a = 0; a < 4; a++)
        assertClose([full[r * 4 + a]!], [quadraticForm(interactionMatrix(layer, oneHot(4, a)), e)], {
          atol: 1e-10,
          rtol: 1e-10,
          label: `logit ${r}, ${a}`,
        });
    }
  }
});
