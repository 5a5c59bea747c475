/**
 * How much the top-k directions explain: prefix forms computed by matrix products equal the
 * one-input recurrence; at full rank every method reproduces xᵀ Q x to float precision; on a Q of
 * rank r the eigenvectors reach correlation 1 at k = r and random directions do not; the job's
 * curves are identical across two runs with the same seed; intervals nest random draws in tokens;
 * the truncated loss at k = d is the model's own, as its forward pass computes it, with or without
 * normalisation; tokens left untruncated keep their exact logit; a decomposition that does not
 * reproduce the forward pass, or an earlier layer, is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  columnCorrelation,
  columnRSquared,
  curveOf,
  prefixForms,
  topPositions,
} from '../../pipeline/analysis/explained-curves.ts';
import { explainedCurves } from '../../pipeline/analysis/language-curves.ts';
import { quadraticForms } from '../../pipeline/analysis/token-readings.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import {
  cumulativeForms,
  eigenBasis,
  pcaBasis,
  projectedBasis,
  randomOrthonormalBasis,
} from '../../pipeline/decompose/truncation.ts';
import { curveInterval } from '../../pipeline/figures/explained-curves.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import {
  COUNTS,
  handModel,
  handWeights,
  handWindows,
  modelArtifact,
  SHAPE,
  TEXTS,
  windowsArtifact,
  withMisreadMlp,
} from '../helpers/hand-transformer.ts';
import { lastMlpValues, readableTransformer } from '../../pipeline/analysis/transformer.ts';
import { interactionMatrix } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import type { Weights } from '../../pipeline/models/kind.ts';
import * as tf from '@tensorflow/tfjs';
import { languageTruncation, meanLoss } from '../../pipeline/analysis/language-truncation.ts';
import { tokenSplitsOf } from '../../pipeline/data/tokens.ts';
import { llama, llamaParams, type LlamaShape } from '../../pipeline/models/llama.ts';

function randomSymmetric(d: number, rng: Rng, rank = d): Float64Array {
  // Σ_{i<rank} c_i g_i g_iᵀ with random signs: rank exactly `rank`
  const q = new Float64Array(d * d);
  for (let r = 0; r < rank; r++) {
    const g = Array.from({ length: d }, () => rng.normal());
    const c = (r % 2 === 0 ? 1 : -1) * (1 + rng.uniform());
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q[i * d + j]! += c * g[i]! * g[j]!;
  }
  return q;
}

test('prefix forms by matrix products equal the one-input recurrence, and at k = d every basis gives xᵀ Q x', () => {
  const rng = new Rng(1);
  const [d, N] = [7, 40];
  const q = randomSymmetric(d, rng);
  const X = Float64Array.from({ length: N * d }, () => rng.normal());
  const y = quadraticForms(X, N, d, q);
  const eig = symmetricEigen(q, d, 'ml-matrix');
  const bases = {
    eigen: eigenBasis(eig, d),
    random: projectedBasis(q, d, randomOrthonormalBasis(d, d, rng)),
    pca: projectedBasis(q, d, pcaBasis(X, N, d, d, { centred: false })),
  };
  for (const [name, qb] of Object.entries(bases)) {
    const F = prefixForms(qb, X, N);
    for (let n = 0; n < N; n++) {
      assertClose(F.subarray(n * d, (n + 1) * d), cumulativeForms(qb, X.subarray(n * d, (n + 1) * d)), {
        atol: 1e-10,
        rtol: 1e-10,
        label: `${name}, position ${n}`,
      });
      assertClose(F[n * d + d - 1]!, y[n]!, {
        atol: 1e-10,
        rtol: 1e-10,
        label: `${name} at full rank, position ${n}`,
      });
    }
    const full = curveOf(F, d, y, topPositions(y, 0.1)).at(-1)!;
    assertClose([full.correlation, full.rSquared, full.correlationTop], [1, 1, 1], {
      atol: 1e-12,
      label: `${name} at k = d`,
    });
  }
});

test('on a Q of rank r the eigenvectors reach correlation 1 at k = r; random directions do not', () => {
  const rng = new Rng(2);
  const [d, N, r] = [12, 300, 3];
  const q = randomSymmetric(d, rng, r);
  const X = Float64Array.from({ length: N * d }, () => rng.normal());
  const y = quadraticForms(X, N, d, q);
  const top = topPositions(y, 0.1);
  const eigen = curveOf(prefixForms(eigenBasis(symmetricEigen(q, d, 'ml-matrix'), d), X, N), d, y, top);
  assertClose(eigen[r - 1]!.correlation, 1, { atol: 1e-10, label: 'eigen at k = r' });
  assertClose(eigen[r - 1]!.rSquared, 1, { atol: 1e-10, label: 'eigen R² at k = r' });
  assert.ok(eigen[r - 2]!.correlation < 0.999, 'not before k = r');
  for (let draw = 0; draw < 5; draw++) {
    const random = curveOf(
      prefixForms(projectedBasis(q, d, randomOrthonormalBasis(d, d, rng)), X, N),
      d,
      y,
      top,
    );
    assert.ok(
      random[r - 1]!.correlation < 0.99,
      `random draw ${draw} at k = r: ${random[r - 1]!.correlation}`,
    );
  }
});

test('correlation, R² and top positions by their definitions', () => {
  const F = Float64Array.from([1, 2, 2, 4, 3, 6, 4, 8]); // (4, 2): column 1 is twice column 0
  const y = Float64Array.from([1, 2, 3, 4]);
  const all = [0, 1, 2, 3];
  assertClose(columnCorrelation(F, 2, 0, y, all), 1, { atol: 1e-15, label: 'identical' });
  assertClose(columnCorrelation(F, 2, 1, y, all), 1, {
    atol: 1e-15,
    label: 'a rescaling correlates perfectly',
  });
  assertClose(columnRSquared(F, 2, 0, y, all), 1, { atol: 1e-15, label: 'R² of y itself' });
  // R² is not refitted: 2y misses y by Σ y² = 30 against Σ (y − ȳ)² = 5
  assertClose(columnRSquared(F, 2, 1, y, all), 1 - 30 / 5, { atol: 1e-12, label: 'R² of 2y' });
  assert.deepEqual(
    Array.from(topPositions(Float64Array.from([5, 1, 9, 3, 9]), 0.3)),
    [2, 4],
    'the top 30% of 5 positions: 2, the two 9s',
  );
  assert.deepEqual(Array.from(topPositions(Float64Array.from([5, 1, 9, 3, 9]), 0.5)), [0, 2, 4]);
  assert.ok(
    Number.isNaN(
      columnCorrelation(Float64Array.from([1, 1, 1]), 1, 0, Float64Array.from([1, 2, 3]), [0, 1, 2]),
    ),
  );
});

test('intervals over directions: random draws are averaged within each direction before the t interval', () => {
  const point = (c: number) => ({ k: 1, correlation: c, rSquared: c, correlationTop: c });
  const directions = [
    { slug: 'a', title: 'a', eigen: [point(0.9)], pca: [point(0.5)], random: [[point(0.1)], [point(0.3)]] },
    {
      slug: 'b',
      title: 'b',
      eigen: [point(0.7)],
      pca: [point(0.3)],
      random: [[point(0.2)], [point(0.4)], [point(0.6)]],
    },
  ];
  const random = curveInterval(directions, 'random', 'correlation', 0);
  assertClose(random.mean, (0.2 + 0.4) / 2, { atol: 1e-12, label: "mean of the directions' means" });
  assert.equal(random.n, 2, 'n counts directions, not draws');
  assert.equal(random.method, 'nested');
  assert.equal(curveInterval(directions, 'eigen', 'correlation', 0).method, 't');
});

test('the curves of a model are identical across two runs with the same seed, and differ with another seed', async () => {
  await selectBackend('cpu');
  const settings = {
    choice: { perClass: 1, required: ['girl'], differences: [] },
    maxK: 3,
    draws: 2,
    windows: 4,
    trainWindows: 4,
    topShare: 0.25,
    seed: 5,
  };
  const params = { settings, layer: 0, solver: 'ml-matrix' as const };
  const [a, b] = [
    explainedCurves(handModel(), handWindows(4), params),
    explainedCurves(handModel(), handWindows(4), params),
  ];
  assert.deepEqual(a, b);
  assert.equal(a.K, 3);
  const c = explainedCurves(handModel(), handWindows(4), { ...params, settings: { ...settings, seed: 6 } });
  assert.notDeepEqual(a.directions[0]!.random, c.directions[0]!.random);
  assert.deepEqual(a.directions[0]!.eigen, c.directions[0]!.eigen, 'the seed moves only the random draws');
});

test('truncated loss: at k = d every method is the model itself, whose loss equals its forward pass; no MLP is U x alone', async () => {
  await selectBackend('cpu');
  const model = handModel();
  const windows = handWindows(3);
  const meta = languageTruncation(model, windows, {
    settings: { ks: [1, 2, SHAPE.dim], windows: 3, trainWindows: 4, seed: 1 },
    layer: 0,
    solver: 'ml-matrix',
  });
  // the forward pass's own cross-entropy on the same windows
  const split = tokenSplitsOf(windows).validation;
  const T = split.context;
  const ids = Array.from({ length: split.n }, (_, w) =>
    Array.from(split.tokens.subarray(w * (T + 1), w * (T + 1) + T)),
  );
  const logits = tf.tidy(
    () =>
      llama
        .forward(SHAPE, llamaParams(SHAPE, handWeights()), tf.tensor2d(ids, [split.n, T], 'int32'))
        .output.dataSync() as Float32Array,
  );
  const targets = Int32Array.from(
    { length: split.n * T },
    (_, n) => split.tokens[Math.floor(n / T) * (T + 1) + (n % T) + 1]!,
  );
  const forward = meanLoss(Float64Array.from(logits), split.n * T, SHAPE.vocab, targets);
  assertClose(meta.full, forward, { atol: 1e-5, rtol: 1e-5, label: "the model's loss, recomputed from Q_t" });
  const atD = meta.losses.find((l) => l.k === SHAPE.dim)!;
  assertClose([atD.eigen, atD.random, atD.pca], [meta.full, meta.full, meta.full], {
    atol: 1e-10,
    rtol: 1e-10,
    label: 'every method at k = d',
  });
  assert.notEqual(meta.noMlp, meta.full);
  assert.equal(meta.positions, 3 * T);
});

test("the loss: log-sum-exp minus the target's logit, stable for large logits", async () => {
  await selectBackend('cpu');
  // float32, as the model evaluates: at logits of 1000 its spacing is 6e-5, and exp(1000) must not overflow
  assertClose(meanLoss(Float64Array.from([0, 0, 1000, 1000]), 2, 2, Int32Array.from([0, 1])), Math.log(2), {
    atol: 1e-4,
    label: 'uniform',
  });
  assertClose(meanLoss(Float64Array.from([2, 0]), 1, 2, Int32Array.from([0])), Math.log(1 + Math.exp(-2)), {
    atol: 1e-6,
    label: 'two classes',
  });
});

/** A random normalised two-layer model with gains away from 1 (a gain left unfolded would show). */
function normalisedTwoLayer(): { shape: LlamaShape; weights: Weights } {
  const { norm: _none, ...unnormalised } = SHAPE;
  const shape: LlamaShape = { ...unnormalised, layers: 2, mlp: 'gated', beta: 0 };
  const rng = new Rng(31);
  const weights = llama.init(shape, rng);
  for (const [name, values] of Object.entries(weights)) {
    if (name.endsWith('_norm')) values.set(values.map(() => 0.5 + rng.uniform()));
    // larger MLPs than the initialisation's, so that truncating them moves the loss
    if (/w[123]$/.test(name)) values.set(values.map((x) => 20 * x));
    // and logits far from uniform
    if (name === 'unembed') values.set(values.map((x) => 100 * x));
  }
  return { shape, weights };
}

test('truncated loss of a normalised model at its last layer: k = d is its forward pass; untruncated tokens keep their logit', async () => {
  await selectBackend('cpu');
  const { shape, weights } = normalisedTwoLayer();
  const windows = windowsArtifact(3);
  const settings = { ks: [1, shape.dim], windows: 3, trainWindows: 4, seed: 1 };
  const run = (s: typeof settings & { minCount?: number }) =>
    languageTruncation(modelArtifact(shape, weights), windows, {
      settings: s,
      layer: 1,
      solver: 'ml-matrix',
    });
  const all = run(settings);
  assert.deepEqual([all.layer, all.layers, all.normalized, all.tokens], [1, 2, true, SHAPE.vocab]);
  assertClose(all.full, all.forward, {
    atol: 1e-5,
    rtol: 1e-5,
    label: 'the loss by Q_t and by the forward pass',
  });
  const atD = all.losses.find((l) => l.k === shape.dim)!;
  assertClose([atD.eigen, atD.random, atD.pca], [all.full, all.full, all.full], {
    atol: 1e-6,
    rtol: 1e-6,
    label: 'every method at k = d',
  });
  // (a random model: the MLP moves the loss, in either direction)
  assert.ok(Math.abs(all.noMlp - all.full) > 0.01, `no MLP ${all.noMlp} against ${all.full}`);

  // Truncating "the" alone (the one token the training split holds 20 times), at k = 1, by a
  // second route: the forward pass's logits with that one column rebuilt by hand from the stream
  // before the MLP, the final norm's scale and the top eigenpair of Q_the.
  const the = TEXTS.indexOf(' the');
  const one = run({ ...settings, minCount: COUNTS[the]! });
  assert.equal(one.tokens, 1);
  const t = readableTransformer(modelArtifact(shape, weights), 1, 'test');
  const v = lastMlpValues(t, windows, 3);
  assert.equal(one.targetShare, v.targets.filter((id) => id === the).length / v.positions);
  const d = shape.dim;
  const U = t.view.unembedding(shape, weights);
  const layer = bilinearLayer(llama.bilinearLayers(shape, weights).find((l) => l.name === 'layers.1.mlp')!);
  const top = symmetricEigen(interactionMatrix(layer, U.subarray(the * d, (the + 1) * d)), d, 'ml-matrix');
  const logits = Float64Array.from(v.logits);
  for (let p = 0; p < v.positions; p++) {
    let direct = 0;
    let along = 0;
    for (let i = 0; i < d; i++) {
      direct += U[the * d + i]! * v.stream[p * d + i]!;
      along += top.vectors[i]! * v.input[p * d + i]!;
    }
    logits[p * SHAPE.vocab + the] = v.scale[p]! * (direct + top.values[0]! * along * along);
  }
  const byHand = meanLoss(logits, v.positions, SHAPE.vocab, v.targets);
  assertClose(one.losses[0]!.eigen, byHand, { atol: 1e-6, rtol: 1e-6, label: 'k = 1, "the" alone' });
  assert.notEqual(one.losses[0]!.eigen, all.losses[0]!.eigen);
  // the scale is the final norm's: logits = s · U x_final, x_final = h + MLP(x̂)
  assert.ok(v.scale.every((s) => s > 0 && s !== 1));

  // a minimum count no token reaches is refused by name
  assert.throws(
    () => run({ ...settings, minCount: 1000 }),
    /no token occurs at least 1000 times in the training split/,
  );
  // an earlier layer is refused: the last would read its truncated MLP
  assert.throws(
    () =>
      languageTruncation(modelArtifact(shape, weights), windows, { settings, layer: 0, solver: 'ml-matrix' }),
    /layer 0 of 2 is not the last, and later layers would read the truncated MLP/,
  );
});

test('a decomposition that does not reproduce the forward pass stops the truncated loss', async () => {
  await selectBackend('cpu');
  const { shape, weights } = normalisedTwoLayer();
  withMisreadMlp(() =>
    assert.throws(
      () =>
        languageTruncation(modelArtifact(shape, weights), windowsArtifact(3), {
          settings: { ks: [1], windows: 3, trainWindows: 4, seed: 1 },
          layer: 1,
          solver: 'ml-matrix',
        }),
      /the decomposition gives a held-out loss of .*, the forward pass .*\(tolerance 0.0001 relative\)/,
    ),
  );
});
