/**
 * The decomposition engine against closed forms and identities: biases folded as a constant
 * input, truncation and both baselines at k = d equal to the full model, the eigen truncation's
 * error in closed form, HOSVD reconstructing B, and each metric on hand-built cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eigenvector, symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { inputFeature } from '../../pipeline/decompose/features.ts';
import { hosvd, reconstructOutput } from '../../pipeline/decompose/hosvd.ts';
import {
  interactionMatrix,
  interactionTensor,
  oneHot,
  quadraticForm,
} from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer, embed, type Matrix } from '../../pipeline/decompose/layer.ts';
import { maxWeightMatching } from '../../pipeline/decompose/matching.ts';
import {
  crossSeedSimilarity,
  effectiveRank,
  featureSupport,
  eigenvectorsNeeded,
  matchedSimilarity,
  peripheryMask,
  peripheryMass,
  totalVariation,
} from '../../pipeline/decompose/metrics.ts';
import {
  cumulativeForms,
  eigenBasis,
  lowRankMatrix,
  pcaBasis,
  projectedBasis,
  projectedRelativeError,
  randomOrthonormalBasis,
  relativeFrobeniusError,
  truncatedLogits,
  truncationCurve,
} from '../../pipeline/decompose/truncation.ts';
import { Matrix as MlMatrix, SingularValueDecomposition } from 'ml-matrix';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { randomLayer, randomVector } from '../helpers/random-layer.ts';

const matrix = (rng: Rng, rows: number, cols: number): Matrix => ({
  data: randomVector(rng, rows * cols),
  rows,
  cols,
});
const matVec = (M: Matrix, x: ArrayLike<number>) =>
  Array.from({ length: M.rows }, (_, i) =>
    Array.from(x).reduce((s, xj, j) => s + Number(M.data[i * M.cols + j]) * xj, 0),
  );

test("property: with biases folded in, uᵀ(P((We+b_W)⊙(Ve+b_V)) + b_P) = e'ᵀ Q_u e' over 20 random shapes", () => {
  const rng = new Rng(100);
  for (let trial = 0; trial < 20; trial++) {
    const [d, m, c] = [1 + rng.int(8), 1 + rng.int(8), 1 + rng.int(5)];
    const input = rng.uniform() < 0.5 ? null : 1 + rng.int(10);
    const E = input === null ? null : matrix(rng, d, input);
    const [W, V, P] = [matrix(rng, m, d), matrix(rng, m, d), matrix(rng, c, m)];
    const pick = () => rng.uniform() < 0.6;
    const biases = {
      ...(E && pick() ? { E: randomVector(rng, d) } : {}),
      ...(pick() ? { W: randomVector(rng, m) } : {}),
      ...(pick() ? { V: randomVector(rng, m) } : {}),
      ...(pick() ? { P: randomVector(rng, c) } : {}),
    };
    const layer = bilinearLayer({ W, V, P, E, biases });
    const u = randomVector(rng, c);
    const q = interactionMatrix(layer, u);
    for (let s = 0; s < 3; s++) {
      const x = randomVector(rng, input ?? d);
      // the naive forward pass, straight from the definition with biases
      const e = E ? matVec(E, x).map((v, j) => v + (biases.E?.[j] ?? 0)) : Array.from(x);
      const we = matVec(W, e).map((v, k) => v + (biases.W?.[k] ?? 0));
      const ve = matVec(V, e).map((v, k) => v + (biases.V?.[k] ?? 0));
      const out = matVec(
        P,
        we.map((w, k) => w * ve[k]!),
      ).map((v, a) => v + (biases.P?.[a] ?? 0));
      const expected = out.reduce((acc, o, a) => acc + o * u[a]!, 0);
      assertClose(quadraticForm(q, embed(layer, x)), expected, {
        atol: 1e-9,
        rtol: 1e-9,
        label: `trial ${trial} (d ${d}, m ${m}, c ${c}, input ${input}, biases ${Object.keys(biases)})`,
      });
    }
  }
});

test('a bias of the wrong length, or for a missing embedding, is refused', () => {
  const rng = new Rng(1);
  const [W, V, P] = [matrix(rng, 3, 2), matrix(rng, 3, 2), matrix(rng, 2, 3)];
  assert.throws(() => bilinearLayer({ W, V, P, biases: { W: [1, 2] } }), /bias b_W has length 2, expected 3/);
  assert.throws(
    () => bilinearLayer({ W, V, P, biases: { E: [1, 2] } }),
    /b_E was given but the layer has no E/,
  );
  assert.throws(
    () => bilinearLayer({ W, V, P, biases: { P: [1, Number.NaN] } }),
    /b_P has a non-finite value/,
  );
});

function setting(seed: number, d = 8, n = 40) {
  const layer = randomLayer(seed, { d, m: 6, c: 3, input: 12 });
  const rng = new Rng(seed + 1);
  const xs = Array.from({ length: n }, () => randomVector(rng, 12));
  const embedded = new Float64Array(n * d);
  xs.forEach((x, r) => embedded.set(embed(layer, x), r * d));
  const qs = Array.from({ length: 3 }, (_, a) => interactionMatrix(layer, oneHot(3, a)));
  const full = new Float64Array(n * 3);
  for (let r = 0; r < n; r++)
    for (let a = 0; a < 3; a++)
      full[r * 3 + a] = quadraticForm(qs[a]!, embedded.subarray(r * d, (r + 1) * d));
  const labels = Array.from({ length: n }, (_, r) =>
    [0, 1, 2].reduce((best, a) => (full[r * 3 + a]! > full[r * 3 + best]! ? a : best), 0),
  );
  return { layer, embedded, qs, full, labels, d, n, rng };
}

test('at k = d, eigen truncation, random projection and PCA all reproduce the full model', () => {
  const { embedded, qs, full, labels, d, n, rng } = setting(7);
  const eigs = qs.map((q) => symmetricEigen(q, d));
  const pca = pcaBasis(embedded, n, d, d);
  const methods = {
    eigen: eigs.map((eig) => eigenBasis(eig, d)),
    random: qs.map((q) => projectedBasis(q, d, randomOrthonormalBasis(d, d, rng))),
    pca: qs.map((q) => projectedBasis(q, d, pca)),
  };
  for (const [name, bases] of Object.entries(methods)) {
    bases.forEach((b, a) => {
      assert.ok(relativeFrobeniusError(qs[a]!, lowRankMatrix(b, d)) < 1e-12, `${name}: Q_d ≠ Q`);
      for (const k of [1, 3, d]) {
        // two ways to the same number: forming Q_k, and ‖Q‖² − ‖M_k‖²
        assertClose(
          projectedRelativeError(qs[a]!, b, k),
          relativeFrobeniusError(qs[a]!, lowRankMatrix(b, k)),
          { atol: 1e-7, label: `${name} error at k = ${k}` },
        );
      }
      for (let r = 0; r < 5; r++) {
        const e = embedded.subarray(r * d, (r + 1) * d);
        assertClose(cumulativeForms(b, e)[d - 1]!, quadraticForm(qs[a]!, e), {
          atol: 1e-10,
          rtol: 1e-10,
          label: `${name} logit`,
        });
      }
    });
    const curve = truncationCurve(bases, embedded, full, labels);
    assert.equal(curve.at(-1)!.accuracy, 1, `${name}: accuracy at k = d`); // labels are the full model's own predictions
    assertClose(curve.at(-1)!.r2, 1, { atol: 1e-12, label: `${name}: R² at k = d` });
  }
});

test('eigen truncation error has its closed form ‖Q − Q_k‖_F/‖Q‖_F = √(Σ_{i>k} λ_i² / Σ λ_i²)', () => {
  const { qs, d } = setting(11);
  const eig = symmetricEigen(qs[0]!, d);
  const basis = eigenBasis(eig, d);
  const total = eig.values.reduce((s, l) => s + l * l, 0);
  let previous = Infinity;
  for (let k = 1; k <= d; k++) {
    const tail = eig.values.slice(k).reduce((s, l) => s + l * l, 0);
    const error = relativeFrobeniusError(qs[0]!, lowRankMatrix(basis, k));
    assertClose(error, Math.sqrt(tail / total), { atol: 1e-12, label: `k = ${k}` });
    assert.ok(error <= previous + 1e-15, 'error must not grow with k');
    previous = error;
  }
});

test('random bases are orthonormal; PCA finds the direction of largest variance', () => {
  const rng = new Rng(3);
  const R = randomOrthonormalBasis(10, 4, rng);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const dot = Array.from({ length: 10 }, (_, t) => R[i * 10 + t]! * R[j * 10 + t]!).reduce(
        (s, x) => s + x,
        0,
      );
      assertClose(dot, i === j ? 1 : 0, { atol: 1e-12, label: `r${i}·r${j}` });
    }
  // data spread 10× along (1, 1, 0)/√2, 1× along z, 0.1× along (1, −1, 0)/√2
  const n = 2000;
  const data = new Float64Array(n * 3);
  for (let r = 0; r < n; r++) {
    const [a, b, c] = [10 * rng.normal(), 0.1 * rng.normal(), rng.normal()];
    data.set([(a + b) / Math.SQRT2, (a - b) / Math.SQRT2, c], r * 3);
  }
  const top = pcaBasis(data, n, 3, 2);
  assertClose(Array.from(top.subarray(0, 3), Math.abs), [Math.SQRT1_2, Math.SQRT1_2, 0], {
    atol: 0.01,
    label: 'first PC',
  });
  assertClose(Array.from(top.subarray(3, 6), Math.abs), [0, 0, 1], { atol: 0.01, label: 'second PC' });
  assert.throws(() => pcaBasis(data, n, 3, 4), /k = 4 must be a whole number in \[1, 3\]/);
  assert.throws(() => randomOrthonormalBasis(3, 0, rng), /k = 0/);
});

test('uncentred principal directions are the right singular vectors of the data matrix', () => {
  // A mean far from the origin: the centred basis ignores it, the uncentred one leads with it.
  const rng = new Rng(12);
  const [n, d] = [400, 4];
  const data = new Float64Array(n * d);
  for (let r = 0; r < n; r++)
    data.set([5 + 0.1 * rng.normal(), rng.normal(), 0.3 * rng.normal(), 0.05 * rng.normal()], r * d);
  const svd = new SingularValueDecomposition(
    new MlMatrix(Array.from({ length: n }, (_, r) => Array.from(data.subarray(r * d, (r + 1) * d)))),
  );
  const uncentred = pcaBasis(data, n, d, d, { centred: false });
  for (let i = 0; i < d; i++) {
    const v = svd.rightSingularVectors.getColumn(i);
    const dot = v.reduce((s, x, j) => s + x * uncentred[i * d + j]!, 0);
    assertClose([Math.abs(dot)], [1], { atol: 1e-9, label: `singular vector ${i}` });
  }
  assertClose([Math.abs(uncentred[0]!)], [1], { atol: 1e-3, label: 'mean direction first' });
  assertClose([Math.abs(pcaBasis(data, n, d, 1)[1]!)], [1], {
    atol: 1e-3,
    label: 'centred: largest variance first',
  });
});

test('batched truncated logits (two matrix products) equal cumulativeForms input by input', () => {
  const { embedded, qs, d, n, rng } = setting(9);
  const bases = [symmetricEigen(qs[0]!, d), symmetricEigen(qs[1]!, d)]
    .map((eig) => eigenBasis(eig, d))
    .concat([projectedBasis(qs[2]!, d, randomOrthonormalBasis(d, d - 1, rng))]);
  for (const b of bases) {
    const at = [1, 2, b.k];
    const batched = truncatedLogits(b, embedded, n, at);
    for (let r = 0; r < n; r++) {
      const one = cumulativeForms(b, embedded.subarray(r * d, (r + 1) * d));
      assertClose(
        at.map((_, i) => batched[r * at.length + i]!),
        at.map((k) => one[k - 1]!),
        { atol: 1e-10, rtol: 1e-10, label: `input ${r}` },
      );
    }
  }
});

test('HOSVD reconstructs every B[a]; components are symmetric with unit norm; σ descending', () => {
  const layer = randomLayer(21, { d: 7, m: 5, c: 4 });
  const B = interactionTensor(layer);
  const h = hosvd(B, 7);
  assert.equal(h.singularValues.length, 4);
  for (let t = 1; t < 4; t++) assert.ok(h.singularValues[t - 1]! >= h.singularValues[t]!);
  for (const r of h.components) {
    assertClose(Math.sqrt(r.reduce((s, x) => s + x * x, 0)), 1, { atol: 1e-12, label: '‖r_t‖' });
    for (let i = 0; i < 7; i++)
      for (let j = 0; j < 7; j++)
        assertClose(r[i * 7 + j]!, r[j * 7 + i]!, { atol: 1e-14, label: 'symmetry' });
  }
  B.forEach((b, a) =>
    assertClose(reconstructOutput(h, a), b, { atol: 1e-10, rtol: 1e-10, label: `B[${a}]` }),
  );
  // a rank-deficient tensor: two outputs that are copies give one component fewer
  const copied = hosvd([B[0]!, B[0]!, B[1]!], 7);
  assert.equal(copied.singularValues.length, 2);
});

test('effective rank: r equal magnitudes → r; one eigenvalue → 1; known spectrum', () => {
  assertClose(effectiveRank([1, -1, 1, -1]), 4, { atol: 1e-12, label: 'four equal' });
  assertClose(effectiveRank([5, 0, 0]), 1, { atol: 1e-12, label: 'one' });
  assertClose(effectiveRank([3, 1]), 16 / 10, { atol: 1e-12, label: '[3, 1]' });
  assertClose(effectiveRank([2, 4].map((x) => x * 7)), effectiveRank([2, 4]), {
    atol: 1e-12,
    label: 'scale-invariant',
  });
  assert.throws(() => effectiveRank([0, 0]), /zero/);
});

test('feature support: one-hot → 1/dim, uniform → 1, in between otherwise', () => {
  const oneHotF = Float64Array.from({ length: 784 }, (_, i) => (i === 300 ? -2 : 0));
  assertClose(featureSupport(oneHotF), 1 / 784, { atol: 1e-15, label: 'one-hot' });
  assertClose(featureSupport(new Float64Array(784).fill(0.3)), 1, { atol: 1e-12, label: 'uniform' });
  assertClose(featureSupport(Float64Array.from({ length: 4 }, (_, i) => (i < 2 ? 1 : 0))), 0.5, {
    atol: 1e-12,
    label: 'half',
  });
});

test("periphery: mask from how often pixels are on; mass is the feature's share there", () => {
  // 3 pixels: always on, on in 1 of 200 images (0.5% < 1%), never on
  const n = 200;
  const images = new Float32Array(n * 3);
  for (let r = 0; r < n; r++) images[r * 3] = 1;
  images[5 * 3 + 1] = 1;
  const mask = peripheryMask(images, n, 3);
  assert.deepEqual(Array.from(mask), [0, 1, 1]);
  assertClose(peripheryMass([1, 1, 1], mask), 2 / 3, { atol: 1e-12, label: 'uniform' });
  assertClose(peripheryMass([3, 0, 0], mask), 0, { atol: 0, label: 'centre only' });
  assertClose(peripheryMass([0, 0, 2], mask), 1, { atol: 0, label: 'periphery only' });
});

test('total variation: constant → 0, interior one-hot → 4, a noisier feature → more', () => {
  assertClose(totalVariation(new Float64Array(25).fill(2), 5, 5), 0, { atol: 0, label: 'constant' });
  const dot = new Float64Array(25);
  dot[12] = 5;
  assertClose(totalVariation(dot, 5, 5), 4, { atol: 1e-12, label: 'one-hot' });
  const rng = new Rng(8);
  const smooth = Float64Array.from({ length: 28 * 28 }, (_, i) =>
    Math.exp(-(((i % 28) - 14) ** 2 + (Math.floor(i / 28) - 14) ** 2) / 40),
  );
  const noisy = Float64Array.from(smooth, (x) => x + 0.2 * rng.normal());
  assert.ok(
    totalVariation(noisy, 28, 28) > 2 * totalVariation(smooth, 28, 28),
    'noise must raise total variation',
  );
});

test('eigenvectors needed: the first k at most one point below the full accuracy, on every k', () => {
  const curve = [1, 2, 3, 4, 5].map((k) => ({ k, accuracy: [0.5, 0.9, 0.955, 0.97, 0.965][k - 1]! }));
  assert.equal(eigenvectorsNeeded(curve, 0.965), 3);
  assert.equal(eigenvectorsNeeded(curve, 0.975), 4);
  assert.equal(eigenvectorsNeeded(curve, 0.999), null);
  // exactly one point below counts, despite rounding in 0.975 − 0.01
  assert.equal(eigenvectorsNeeded([{ k: 1, accuracy: 0.965 }], 0.975), 1);
  // a grid that skips k cannot give the definition's answer
  assert.throws(
    () =>
      eigenvectorsNeeded(
        [
          { k: 1, accuracy: 0.5 },
          { k: 3, accuracy: 0.97 },
        ],
        0.97,
      ),
    /every k from 1, but the curve has k = 1, 3/,
  );
});

test('Hungarian matching finds the best assignment (checked by brute force)', () => {
  const permutations = (n: number): number[][] =>
    n === 0
      ? [[]]
      : permutations(n - 1).flatMap((p) =>
          Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
        );
  const rng = new Rng(4);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + rng.int(6);
    const w = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform()));
    const score = (p: number[]) => p.reduce((s, j, i) => s + w[i]![j]!, 0);
    const best = Math.max(...permutations(n).map(score));
    const found = maxWeightMatching(w);
    assert.deepEqual(
      [...found].sort(),
      Array.from({ length: n }, (_, i) => i),
      'not a permutation',
    );
    assertClose(score(found), best, { atol: 1e-12, label: `n = ${n}` });
  }
});

test('a model and its copy with permuted hidden units have similarity 1', () => {
  const rng = new Rng(12);
  const [d, m, c, input] = [6, 9, 3, 15];
  const [E, W, V, P] = [matrix(rng, d, input), matrix(rng, m, d), matrix(rng, m, d), matrix(rng, c, m)];
  const perm = rng.shuffle(Array.from({ length: m }, (_, k) => k));
  const permuteRows = (M: Matrix): Matrix => ({
    ...M,
    data: Float64Array.from({ length: M.rows * M.cols }, (_, i) =>
      Number(M.data[perm[Math.floor(i / M.cols)]! * M.cols + (i % M.cols)]),
    ),
  });
  const permuteCols = (M: Matrix): Matrix => ({
    ...M,
    data: Float64Array.from({ length: M.rows * M.cols }, (_, i) =>
      Number(M.data[Math.floor(i / M.cols) * M.cols + perm[i % M.cols]!]),
    ),
  });
  const original = bilinearLayer({ W, V, P, E });
  const copy = bilinearLayer({ W: permuteRows(W), V: permuteRows(V), P: permuteCols(P), E });
  const features = (layer: typeof original) => {
    const eig = symmetricEigen(interactionMatrix(layer, oneHot(c, 1)), d);
    return Array.from({ length: 4 }, (_, i) => inputFeature(layer, eigenvector(eig, i)));
  };
  const { mean, matched } = matchedSimilarity(features(original), features(copy));
  assertClose(mean, 1, { atol: 1e-10, label: 'similarity' });
  assert.equal(matched.length, 4);
  // an unrelated model is far from 1
  const other = randomLayer(99, { d, m, c, input });
  assert.ok(matchedSimilarity(features(original), features(other)).mean < 0.9);
});

test('cross-seed similarity pairs each run with every other run, never with itself', () => {
  const rng = new Rng(5);
  const runs = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => randomVector(rng, 10)));
  const { pairs, mean } = crossSeedSimilarity(runs);
  assert.deepEqual(
    pairs.map((p) => [p.i, p.j]),
    [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ],
  );
  assert.ok(mean < 1, 'random runs are not identical');
  assertClose(
    crossSeedSimilarity([runs[0]!, runs[0]!.map((f) => Float64Array.from(f, (x) => -2 * x))]).mean,
    1,
    { atol: 1e-12, label: 'scaled, flipped copy' },
  );
  assert.throws(() => crossSeedSimilarity([runs[0]!]), /at least 2 runs/);
});
