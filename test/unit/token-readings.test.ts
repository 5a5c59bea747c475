/**
 * The language report's token readings: on a transformer built by hand, whose Q_u has a token's
 * embedding as its top eigenvector, the direct reading puts that token first; OV readings equal the
 * same scores computed through each head's full OV matrix; top contexts equal a brute-force scan
 * of every position and eigenvector; Table 1 scores are the quadratic forms of the embeddings; page
 * ids are slugs of the text, the same whatever the corpus; bad settings are refused by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import {
  distinctContexts,
  readLanguageModel,
  type Context,
  type ReadingSettings,
} from '../../pipeline/analysis/language-readings.ts';
import { chooseOutputs, tokenSlug } from '../../pipeline/analysis/output-tokens.ts';
import {
  combineRows,
  extremes,
  ovPullback,
  rowScores,
  rowScoresOf,
  tokenOutputs,
  topContexts,
} from '../../pipeline/analysis/token-readings.ts';
import { llama, type LlamaShape } from '../../pipeline/models/llama.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import {
  COUNTS,
  handWeights,
  modelArtifact,
  SHAPE,
  TEXTS,
  windowsArtifact,
  withMisreadMlp,
} from '../helpers/hand-transformer.ts';

const SETTINGS: ReadingSettings = {
  choice: { perClass: 1, required: ['girl'], differences: ['play'] },
  eigenvectors: 1,
  tokens: 3,
  contexts: 4,
  span: 3,
  windows: 8,
};

test("a hand-built model whose Q_u has a token's embedding as top eigenvector: the direct reading puts that token first", async () => {
  await selectBackend('cpu');
  const { meta } = readLanguageModel(modelArtifact(SHAPE, handWeights()), windowsArtifact(5), {
    settings: SETTINGS,
    layer: 0,
    solver: 'ml-matrix',
  });
  const girl = meta.directions.find((r) => r.slug === 'girl')!;
  assertClose(girl.eigenvectors[0]!.eigenvalue, 5, {
    atol: 1e-5,
    rtol: 1e-5,
    label: 'the top eigenvalue is the hand-set 5',
  });
  assert.equal(girl.eigenvectors[0]!.direct.top[0]!.text, ' boy');
  assert.equal(girl.positive, 2);
  assert.equal(girl.negative, 1);
  // Table 1: "boy" alone raises girl's output most through the MLP (5 · 2² = 20)
  assert.equal(girl.tokensThroughMlp.top[0]!.text, ' boy');
  assertClose(girl.tokensThroughMlp.top[0]!.score, 20, { atol: 1e-4, rtol: 1e-4, label: 'eᵀ Q e of boy' });
  // with one word per class, "girl" (required) is also the most frequent noun, so no second noun is read
  assert.deepEqual(
    meta.directions.map((r) => r.slug),
    ['girl', 'play', 'happy', 'the', 'play-vs-verbs'],
  );
  assert.equal(meta.positions, 5 * SHAPE.context);
});

test('a normalised two-layer model read at its last layer: tokens alone read through E / rms(E), the direct path through E', async () => {
  await selectBackend('cpu');
  const { norm: _none, ...unnormalised } = SHAPE;
  const shape: LlamaShape = { ...unnormalised, layers: 2, mlp: 'gated', beta: 0 };
  const rng = new Rng(12);
  const weights = llama.init(shape, rng);
  // gains away from 1, so that a gain left unfolded would show
  for (const [name, values] of Object.entries(weights))
    if (name.endsWith('_norm')) values.set(values.map(() => 0.5 + rng.uniform()));
  const settings = { ...SETTINGS, eigenvectors: 2 };
  const { meta } = readLanguageModel(modelArtifact(shape, weights), windowsArtifact(3), {
    settings,
    layer: 1,
    solver: 'ml-matrix',
  });
  assert.deepEqual([meta.layer, meta.layerIndex, meta.layers, meta.normalized], ['layers.1.mlp', 1, 2, true]);
  // the decomposition reproduces the model's own MLP output at its held-out positions
  assert.equal(meta.identity.positions, 3 * SHAPE.context);
  assert.ok(meta.identity.maxRelativeError < 1e-4, `identity error ${meta.identity.maxRelativeError}`);
  // and a decomposition that does not (P doubled behind the forward pass's back) stops the job
  withMisreadMlp(() =>
    assert.throws(
      () =>
        readLanguageModel(modelArtifact(shape, weights), windowsArtifact(3), {
          settings,
          layer: 1,
          solver: 'ml-matrix',
        }),
      /for "girl", x̂ᵀ Q_u x̂ differs from the model's own uᵀ MLP\(x̂\) by .* the decomposition does not reproduce this MLP/,
    ),
  );
  const d = shape.dim;
  const view = llama.transformer!;
  const E = weights['embed']!;
  const U = view.unembedding(shape, weights);
  const layer = bilinearLayer(llama.bilinearLayers(shape, weights).find((l) => l.name === 'layers.1.mlp')!);
  const girl = meta.directions.find((r) => r.slug === 'girl')!;
  const u = combineRows(U, d, girl.terms);
  const q = interactionMatrix(layer, u);
  const unit = (s: number) => {
    const e = E.subarray(s * d, (s + 1) * d);
    const rms = Math.sqrt(e.reduce((a, v) => a + v * v, 0) / d + shape.normEps);
    return Float64Array.from(e, (v) => v / rms);
  };
  for (const t of [...girl.tokensThroughMlp.top, ...girl.tokensThroughMlp.bottom])
    assertClose(t.score, quadraticForm(q, unit(t.id)), { atol: 1e-5, rtol: 1e-5, label: `MLP of ${t.text}` });
  for (const t of girl.tokensWithDirect.top) {
    const direct = u.reduce((a, ui, i) => a + ui * E[t.id * d + i]!, 0);
    assertClose(t.score, quadraticForm(q, unit(t.id)) + direct, {
      atol: 1e-5,
      rtol: 1e-5,
      label: `MLP and direct path of ${t.text}`,
    });
  }
  // the direct reading of an eigenvector scores each token's normalised embedding
  const top = girl.eigenvectors[0]!;
  const v = symmetricEigen(q, d, 'ml-matrix').vectors.subarray(top.index * d, (top.index + 1) * d);
  const score = top.direct.top[0]!;
  assertClose(Math.abs(score.score), Math.abs(unit(score.id).reduce((a, x, i) => a + x * v[i]!, 0)), {
    atol: 1e-5,
    rtol: 1e-5,
    label: 'direct reading of the top eigenvector',
  });
  assert.throws(
    () =>
      readLanguageModel(modelArtifact(shape, weights), windowsArtifact(3), {
        settings,
        layer: 2,
        solver: 'ml-matrix',
      }),
    /has no layer 2 to read \(its layers are 0 … 1\)/,
  );
});

test('readings list only tokens the training split holds at least minCount times', async () => {
  await selectBackend('cpu');
  const read = (minCount?: number) =>
    readLanguageModel(modelArtifact(SHAPE, handWeights()), windowsArtifact(5), {
      settings: { ...SETTINGS, ...(minCount === undefined ? {} : { minCount }) },
      layer: 0,
      solver: 'ml-matrix',
    }).meta.directions.find((r) => r.slug === 'girl')!;
  assert.equal(read().eigenvectors[0]!.direct.top[0]!.text, ' boy');
  const girl = read(5);
  const listed = [
    girl.tokensThroughMlp,
    girl.tokensWithDirect,
    ...girl.eigenvectors.flatMap((e) => [e.direct, ...e.heads]),
  ].flatMap((r) => [...r.top, ...r.bottom]);
  assert.ok(listed.length > 0);
  for (const t of listed) assert.ok(COUNTS[t.id]! >= 5, `${t.text} (count ${COUNTS[t.id]}) is listed`);
  assert.notEqual(girl.eigenvectors[0]!.direct.top[0]!.text, ' boy', '" boy" (4 times) is left out');
  assert.throws(() => read(100), /only 0 tokens occur at least 100 times/);
});

test("OV readings equal the scores through each head's full OV matrix W_O^h W_V^h", () => {
  const rng = new Rng(2);
  for (const s of [
    { dim: 8, heads: 4, kvHeads: 4 },
    { dim: 8, heads: 4, kvHeads: 2 },
  ]) {
    const hs = s.dim / s.heads;
    const wv = Float64Array.from({ length: s.kvHeads * hs * s.dim }, () => rng.normal());
    const wo = Float64Array.from({ length: s.dim * s.heads * hs }, () => rng.normal());
    const E = Float64Array.from({ length: 11 * s.dim }, () => rng.normal());
    const v = Float64Array.from({ length: s.dim }, () => rng.normal());
    for (let h = 0; h < s.heads; h++) {
      const kv = Math.floor(h / (s.heads / s.kvHeads));
      // OV (d, d) = W_O[:, h·hs …] · W_V[kv·hs …, :]
      const ov = new Float64Array(s.dim * s.dim);
      for (let i = 0; i < s.dim; i++)
        for (let c = 0; c < s.dim; c++)
          for (let j = 0; j < hs; j++)
            ov[i * s.dim + c]! += wo[i * s.heads * hs + h * hs + j]! * wv[(kv * hs + j) * s.dim + c]!;
      const direct = Array.from({ length: 11 }, (_, t) => {
        let score = 0;
        for (let i = 0; i < s.dim; i++)
          for (let c = 0; c < s.dim; c++) score += v[i]! * ov[i * s.dim + c]! * E[t * s.dim + c]!;
        return score;
      });
      // the head's own W_V (hs, d) and W_O (d, hs), sliced from the full matrices
      const headWv = wv.subarray(kv * hs * s.dim, (kv + 1) * hs * s.dim);
      const headWo = Float64Array.from({ length: s.dim * hs }, (_, k) => {
        const [i, j] = [Math.floor(k / hs), k % hs];
        return wo[i * s.heads * hs + h * hs + j]!;
      });
      assertClose(rowScores(E, 11, s.dim, ovPullback({ wv: headWv, wo: headWo }, v)), direct, {
        atol: 1e-10,
        rtol: 1e-10,
        label: `head ${h} of ${s.heads} (${s.kvHeads} kv)`,
      });
    }
  }
});

test('top contexts equal a brute-force scan over every position and eigenvector', () => {
  const rng = new Rng(4);
  const [d, T, windows] = [5, 7, 6];
  const N = T * windows;
  const X = Float64Array.from({ length: N * d }, () => rng.normal());
  const a = Float64Array.from({ length: d * d }, () => rng.normal());
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q[i * d + j] = (a[i * d + j]! + a[j * d + i]!) / 2;
  const eig = symmetricEigen(q, d, 'ml-matrix');
  const chosen = [0, 2, 4];
  const hits = topContexts(X, N, d, T, eig, q, chosen, 5);
  chosen.forEach((i, c) => {
    const all = Array.from({ length: N }, (_, n) => {
      const x = X.subarray(n * d, (n + 1) * d);
      const parts = Array.from(
        { length: d },
        (_, j) =>
          eig.values[j]! *
          eig.vectors.subarray(j * d, (j + 1) * d).reduce((s, vj, k) => s + vj * x[k]!, 0) ** 2,
      );
      return {
        n,
        act: parts[i]!,
        share: Math.abs(parts[i]!) / parts.reduce((s, p) => s + Math.abs(p), 0),
        total: quadraticForm(q, x),
      };
    });
    all.sort((p, r) => Math.abs(r.act) - Math.abs(p.act) || p.n - r.n);
    const best = all.slice(0, 5);
    assert.deepEqual(
      hits[c]!.map((h) => h.window * T + h.position),
      best.map((b) => b.n),
      `eigenvector ${i}: the same positions in the same order`,
    );
    assertClose(
      hits[c]!.map((h) => h.activation),
      best.map((b) => b.act),
      { atol: 1e-10, rtol: 1e-10, label: 'activations' },
    );
    assertClose(
      hits[c]!.map((h) => h.share),
      best.map((b) => b.share),
      { atol: 1e-10, rtol: 1e-10, label: 'shares' },
    );
    assertClose(
      hits[c]!.map((h) => h.total),
      best.map((b) => b.total),
      { atol: 1e-10, rtol: 1e-10, label: 'xᵀ Q x' },
    );
  });
  assert.throws(() => topContexts(X, N, d, T, eig, q, chosen, N + 1), /only 42 positions/);
});

test('Table 1 scores: eᵀ Q_u e through the MLP, u · e on the direct path; extremes by score, ties by id', () => {
  const rng = new Rng(8);
  const d = 6;
  const E = Float64Array.from({ length: 9 * d }, () => rng.normal());
  const a = Float64Array.from({ length: d * d }, () => rng.normal());
  const q = interactionMatrix(
    {
      d,
      m: d,
      c: d,
      W: a,
      V: a,
      P: Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)),
      E: null,
      outBias: null,
    } as never,
    Float64Array.from({ length: d }, (_, i) => i - 2),
  );
  const u = Float64Array.from({ length: d }, () => rng.normal());
  // what the MLP reads of each token (here: each row halved) apart from the embedding the direct path reads
  const X = E.map((v) => v / 2);
  const { mlp, direct } = tokenOutputs(X, E, 9, d, q, u);
  for (let s = 0; s < 9; s++) {
    assertClose(mlp[s]!, quadraticForm(q, X.subarray(s * d, (s + 1) * d)), {
      atol: 1e-10,
      rtol: 1e-10,
      label: `token ${s}`,
    });
    assertClose(
      direct[s]!,
      u.reduce((t, ui, i) => t + ui * E[s * d + i]!, 0),
      { atol: 1e-12, rtol: 1e-12, label: `token ${s} direct` },
    );
  }
  assert.deepEqual(extremes([3, 1, 3, -2, 0], 2), {
    top: [
      { id: 0, score: 3 },
      { id: 2, score: 3 },
    ],
    bottom: [
      { id: 3, score: -2 },
      { id: 4, score: 0 },
    ],
  });
  assert.throws(() => extremes([1, Number.NaN], 1), /NaN/);
  // against a full sort, on scores with many ties, and the two ways of scoring rows
  const rng2 = new Rng(21);
  const many = Array.from({ length: 5000 }, () => Math.round(rng2.normal() * 4));
  const all = many.map((score, id) => ({ id, score }));
  for (const k of [0, 1, 8, 30])
    assert.deepEqual(
      extremes(many, k),
      {
        top: [...all].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, k),
        bottom: [...all].sort((a, b) => a.score - b.score || a.id - b.id).slice(0, k),
      },
      `k = ${k}`,
    );
  const rows32 = Float32Array.from({ length: 40 * d }, () => rng2.normal());
  const w = Float64Array.from({ length: d }, () => rng2.normal());
  assertClose(rowScores(Float64Array.from(rows32), 40, d, w), rowScores(rows32, 40, d, w), {
    atol: 1e-12,
    rtol: 1e-12,
    label: 'rowScores: BLAS and loop',
  });
  const ws = [w, w.map((x) => -2 * x), Float64Array.from({ length: d }, () => rng2.normal())];
  rowScoresOf(Float64Array.from(rows32), 40, d, ws).forEach((column, j) =>
    assertClose(column, rowScores(rows32, 40, d, ws[j]!), {
      atol: 1e-12,
      rtol: 1e-12,
      label: `rowScoresOf: column ${j}`,
    }),
  );
  assertClose(
    combineRows(Float64Array.from([1, 2, 3, 4]), 2, [
      { id: 0, weight: 1 },
      { id: 1, weight: -0.5 },
    ]),
    [-0.5, 0],
    { atol: 0, rtol: 0, label: 'u = U[0] − U[1]/2' },
  );
});

test('page ids are slugs of the token text, the same across two corpora with different ids and counts', () => {
  const choice = { perClass: 2, required: ['girl'], differences: ['play'] };
  const a = chooseOutputs(TEXTS, COUNTS, choice);
  const shuffled = [TEXTS[0]!, TEXTS[1]!, ' run', ' happy', ' the', ' play', ' girl', ' boy', ' dog'];
  const counts = [0, 3, 6, 3, 25, 7, 9, 4, 1];
  const b = chooseOutputs(shuffled, counts, choice);
  const byTitle = (list: typeof a) => Object.fromEntries(list.map((o) => [o.title, o.slug]));
  for (const [title, slug] of Object.entries(byTitle(a)))
    if (title in byTitle(b)) assert.equal(byTitle(b)[title], slug, title);
  assert.deepEqual(
    a.map((o) => o.slug).sort(),
    b
      .filter((o) => o.slug !== 'dog')
      .map((o) => o.slug)
      .sort(),
  );
  assert.notDeepEqual(
    a.find((o) => o.slug === 'girl')!.terms,
    b.find((o) => o.slug === 'girl')!.terms,
    'the ids differ, the page id does not',
  );
  assert.equal(tokenSlug(" Lily's"), 'lily-s');
  assert.throws(() => tokenSlug(' ,'), /no letters or digits/);
});

test('bad settings are refused by name: a missing required word, too few held-out positions, a model the readings cannot mean', async () => {
  assert.throws(
    () => chooseOutputs(TEXTS, COUNTS, { perClass: 1, required: ['dragon'], differences: [] }),
    /no token " dragon" \(a required output token\)/,
  );
  assert.throws(
    () => chooseOutputs(TEXTS, COUNTS, { perClass: 1, required: [], differences: ['swim'] }),
    /no token " swim" \(the verb of a logit difference\)/,
  );
  await selectBackend('cpu');
  const params = {
    settings: { ...SETTINGS, contexts: 100 },
    layer: 0,
    solver: 'ml-matrix' as const,
  };
  assert.throws(
    () => readLanguageModel(modelArtifact(SHAPE, handWeights()), windowsArtifact(2), params),
    /readings\.contexts asks for 100 contexts .* 12 held-out positions .*readings\.windows/,
  );
  assert.throws(
    () =>
      readLanguageModel(modelArtifact(SHAPE, handWeights()), windowsArtifact(0), {
        ...params,
        settings: SETTINGS,
      }),
    /validation split has no windows/,
  );
  const gated = { ...SHAPE, mlp: 'gated' as const };
  assert.throws(
    () =>
      readLanguageModel(modelArtifact(gated, handWeights()), windowsArtifact(2), {
        ...params,
        settings: SETTINGS,
      }),
    /has a gated MLP/,
  );
});

test('contexts shown are distinct texts, in order of activation: a repeated story opening is shown once', () => {
  const at = (activation: number, before: string, token: string): Context => ({
    window: 0,
    position: 0,
    activation,
    share: 0.5,
    total: 1,
    before,
    token,
    next: ' a',
  });
  const contexts = [
    at(9, 'Once', ' upon'),
    at(9, 'Once', ' upon'),
    at(8, '', ' upon'),
    at(7, 'Once', ' upon'),
    at(6, 'There', ' was'),
  ];
  assert.deepEqual(
    distinctContexts(contexts, 3).map((c) => [c.activation, c.before, c.token]),
    [
      [9, 'Once', ' upon'],
      [8, '', ' upon'],
      [6, 'There', ' was'],
    ],
  );
  assert.equal(distinctContexts(contexts, 10).length, 3);
});
