/**
 * The paper's language model (§5): a Llama block without normalisation, trained with latent noise
 * on the MLP input. Checked by identities: the hooks add up to the residual stream and the logits
 * are U times it; on weights trained by the trainer, a token's MLP share of its logit is the
 * quadratic form of its interaction matrix; noise reaches training steps and never evaluation;
 * settings a kind does not implement are refused, not ignored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { tokenWindows, type TokenSplits } from '../../pipeline/data/tokens.ts';
import { interactionMatrix, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import { bilinearBigram } from '../../pipeline/models/bilinear-bigram.ts';
import { defineModel, type ForwardOptions, type Weights } from '../../pipeline/models/kind.ts';
import { llama, llamaParams, type LlamaShape } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { trainJob } from '../../pipeline/train/job.ts';
import { checkSupported, train, type TrainSettings } from '../../pipeline/train/trainer.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { tokenChainKind } from '../helpers/fixture-jobs.ts';

const SHAPE: LlamaShape = {
  vocab: 23,
  dim: 16,
  hidden: 32,
  layers: 1,
  heads: 4,
  kvHeads: 4,
  context: 10,
  tiedEmbeddings: false,
  mlp: 'bilinear',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
  norm: 'none',
};
const SETTINGS: TrainSettings = {
  epochs: 3,
  batchSize: 8,
  lr: 3e-3,
  weightDecay: 0.1,
  warmupFraction: 0.1,
  latentNoise: 0.33,
  seed: 3,
};

/** Windows of a noisy token chain (next = 5·t + 2 mod vocab, one token in five random). */
function splits(seed: number): TokenSplits {
  const rng = new Rng(seed);
  const make = (n: number) => {
    const tokens = new Int32Array(n * (SHAPE.context + 1));
    for (let w = 0; w < n; w++) {
      let t = rng.int(SHAPE.vocab);
      for (let i = 0; i <= SHAPE.context; i++) {
        tokens[w * (SHAPE.context + 1) + i] = t;
        t = rng.uniform() < 0.2 ? rng.int(SHAPE.vocab) : (5 * t + 2) % SHAPE.vocab;
      }
    }
    return tokenWindows(tokens, n, SHAPE.context, SHAPE.vocab, 'fixture');
  };
  return { train: make(64), validation: make(16), test: make(16), vocabSize: SHAPE.vocab };
}

const flat = (t: tf.Tensor) => t.dataSync() as Float32Array;

function hooksOf(
  shape: LlamaShape,
  weights: Weights,
  ids: number[][],
  names: string[],
  options: ForwardOptions = {},
): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32');
    const { output, hooks } = llama.forward(shape, llamaParams(shape, weights), x, {
      ...options,
      hooks: names,
    });
    return { logits: flat(output), ...Object.fromEntries(names.map((n) => [n, flat(hooks[n]!)])) };
  });
}

test('without normalisation the layout has no gains, and a norm other than none is refused', () => {
  assert.deepEqual(
    Object.keys(llama.layout(SHAPE)).filter((n) => n.includes('norm')),
    [],
  );
  assert.deepEqual(
    Object.keys(llama.layout({ ...SHAPE, norm: undefined })).filter((n) => n.includes('norm')),
    ['layers.0.attn_norm', 'layers.0.mlp_norm', 'final_norm'],
  );
  assert.throws(
    () => llama.checkShape({ ...SHAPE, norm: 'layer' }),
    /shape.norm must be 'none'.*got "layer"/,
  );
  assert.match(llama.describe(SHAPE), /1 layer, .*no normalisation/);
});

test('no-norm hooks: the MLP reads resid-pre + attn-out, the stream ends as embed + attn-out + mlp-out, and logits = U · resid-final', async () => {
  await selectBackend('auto');
  const shape = { ...SHAPE, layers: 2 };
  const weights = llama.init(shape, new Rng(2));
  const ids = [[1, 4, 4, 19, 0, 7]];
  const names = [
    'resid-pre.0',
    'attn-out.0',
    'mlp-in.0',
    'mlp-out.0',
    'resid-pre.1',
    'attn-out.1',
    'mlp-in.1',
    'mlp-out.1',
    'resid-final',
  ];
  const h = hooksOf(shape, weights, ids, names);
  const d = shape.dim;
  const n = ids[0]!.length;
  const embedded = Float32Array.from(
    ids[0]!.flatMap((t) => Array.from(weights['embed']!.subarray(t * d, (t + 1) * d))),
  );
  assertClose(h['resid-pre.0']!, embedded, { atol: 0, label: 'resid-pre.0 = embed[t]' });
  for (const l of [0, 1])
    assertClose(
      h[`mlp-in.${l}`]!,
      h[`resid-pre.${l}`]!.map((v, i) => v + h[`attn-out.${l}`]![i]!),
      { atol: 1e-6, label: `mlp-in.${l}` },
    );
  const sum = embedded.map(
    (v, i) => v + h['attn-out.0']![i]! + h['mlp-out.0']![i]! + h['attn-out.1']![i]! + h['mlp-out.1']![i]!,
  );
  assertClose(h['resid-final']!, sum, { atol: 1e-5, label: 'resid-final = embed + Σ attn-out + mlp-out' });
  const U = weights['unembed']!;
  const logits = Array.from({ length: n * shape.vocab }, (_, k) => {
    const [pos, a] = [Math.floor(k / shape.vocab), k % shape.vocab];
    let s = 0;
    for (let i = 0; i < d; i++) s += U[a * d + i]! * h['resid-final']![pos * d + i]!;
    return s;
  });
  assertClose(h['logits']!, logits, { atol: 1e-5, label: 'logits = U resid-final' });
});

test("on trained weights, each token's MLP share of its logit uᵀ MLP(x) is xᵀ Q_u x (u its unembedding row), to float precision", async () => {
  await selectBackend('auto');
  const data = splits(1);
  const result = await train(
    { kind: llama, shape: SHAPE, task: nextToken, data, settings: SETTINGS },
    memoryLog(),
  );
  assert.ok(
    result.history.at(-1)!.train['loss']! < result.history[0]!.train['loss']!,
    'the model learned something',
  );
  const [parts] = llama.bilinearLayers(SHAPE, result.weights);
  assert.equal(parts!.input, 'layer 0 MLP input (the residual stream)');
  const layer = bilinearLayer(parts!);
  const ids = [Array.from(data.test.tokens.subarray(0, SHAPE.context))];
  const h = hooksOf(SHAPE, result.weights, ids, ['mlp-in.0', 'mlp-out.0']);
  const d = SHAPE.dim;
  let checked = 0;
  for (const token of [0, 7, 22]) {
    const u = result.weights['unembed']!.subarray(token * d, (token + 1) * d);
    const q = interactionMatrix(layer, u);
    for (let pos = 0; pos < SHAPE.context; pos++) {
      const x = h['mlp-in.0']!.subarray(pos * d, (pos + 1) * d);
      const out = h['mlp-out.0']!.subarray(pos * d, (pos + 1) * d);
      let share = 0;
      let scale = 0;
      for (let i = 0; i < d; i++) {
        share += u[i]! * out[i]!;
        scale += Math.abs(u[i]! * out[i]!);
      }
      // float32 forward against a float64 form: a few float32 ulps of the terms' magnitude.
      assertClose(quadraticForm(q, x), share, {
        atol: 1e-5 * Math.max(scale, 1e-3),
        label: `token ${token} position ${pos}`,
      });
      checked++;
    }
  }
  assert.equal(checked, 30);
});

test("latent noise: N(0, (σ · std h)²) on the MLP input when a step's noise is given; none without it; seeded", async () => {
  await selectBackend('auto');
  const weights = llama.init(SHAPE, new Rng(4));
  const ids = Array.from({ length: 6 }, (_, w) =>
    Array.from({ length: SHAPE.context }, (_, i) => (w * 7 + i * 3) % SHAPE.vocab),
  );
  const names = ['mlp-in.0', 'resid-pre.0', 'attn-out.0'];
  const clean = hooksOf(SHAPE, weights, ids, names);
  const noise = { latent: 0.33, input: 0, dropout: 0, seed: 11 };
  const noisy = hooksOf(SHAPE, weights, ids, names, { noise });
  assertClose(noisy['resid-pre.0']!, clean['resid-pre.0']!, {
    atol: 0,
    label: 'the stream before the MLP is untouched',
  });
  const diff = noisy['mlp-in.0']!.map((v, i) => v - clean['mlp-in.0']![i]!);
  const std = (a: Float32Array) => {
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  };
  // 960 draws: the sample std is within 10% of the true one with overwhelming probability.
  const ratio = std(diff) / std(clean['mlp-in.0']!);
  assert.ok(Math.abs(ratio - 0.33) < 0.033, `noise std / std(h) = ${ratio}, expected 0.33`);
  assertClose(hooksOf(SHAPE, weights, ids, names, { noise })['mlp-in.0']!, noisy['mlp-in.0']!, {
    atol: 0,
    label: 'same seed, same noise',
  });
  assertClose(
    hooksOf(SHAPE, weights, ids, names, { noise: { ...noise, latent: 0 } })['mlp-in.0']!,
    clean['mlp-in.0']!,
    { atol: 0, label: 'σ = 0 is no noise' },
  );
});

test('the trainer gives noise to training steps only: every evaluation is clean and the final metrics are a clean evaluation', async () => {
  await selectBackend('auto');
  const calls = { noisy: 0, clean: 0 };
  const recorder = defineModel({
    ...llama,
    name: 'test-noise-recorder',
    module: import.meta.url,
    forward: (s: LlamaShape, p: Record<string, tf.Tensor>, x: tf.Tensor, o: ForwardOptions = {}) => {
      if (o.noise) {
        assert.equal(o.noise.latent, SETTINGS.latentNoise);
        calls.noisy++;
      } else calls.clean++;
      return llama.forward(s, p, x, o);
    },
  });
  const data = splits(2);
  const result = await train(
    { kind: recorder, shape: SHAPE, task: nextToken, data, settings: SETTINGS },
    memoryLog(),
  );
  assert.equal(calls.noisy, result.steps, 'one noisy forward pass per training step');
  assert.ok(calls.clean > 0, 'evaluations ran');
  const params = llamaParams(SHAPE, result.weights);
  const predict = (x: tf.Tensor) => llama.forward(SHAPE, params, x).output;
  for (const split of ['validation', 'test'] as const) {
    const again = nextToken.evaluate(predict, data, split);
    assertClose(result.final[split]['loss']!, again['loss']!, {
      atol: 1e-6,
      label: `${split} loss re-evaluated without noise`,
    });
  }
  tf.dispose(Object.values(params));
});

test('settings a kind does not implement are refused, by the trainer and when a training job is planned', async () => {
  await selectBackend('auto');
  assert.throws(
    () => checkSupported(llama, { ...SETTINGS, dropout: 0.1 }),
    /llama models do not implement dropout \(set to 0.1\) \(they implement: latentNoise\)/,
  );
  assert.throws(
    () => checkSupported(llama, { ...SETTINGS, inputNoise: 0.2 }),
    /llama models do not implement inputNoise/,
  );
  assert.throws(
    () => checkSupported(llama, { ...SETTINGS, schedules: { gamma: { kind: 'constant', value: 1 } } }),
    /llama models do not implement a schedule for 'gamma' \(they implement: a schedule for 'lr', a schedule for 'beta'\)/,
  );
  assert.throws(
    () => checkSupported(bilinearBigram, { ...SETTINGS, inputNoise: 0.2 }),
    /bilinear-bigram models do not implement inputNoise/,
  );
  checkSupported(llama, {
    ...SETTINGS,
    dropout: 0,
    inputNoise: 0,
    schedules: { beta: { kind: 'linear', from: 1, to: 0, start: 0, end: 1 } },
  });
  await assert.rejects(
    train(
      {
        kind: llama,
        shape: SHAPE,
        task: nextToken,
        data: splits(3),
        settings: { ...SETTINGS, dropout: 0.1 },
      },
      memoryLog(),
    ),
    (e: Error & { exitCode?: number }) => /do not implement dropout/.test(e.message) && e.exitCode === 2,
  );
  const backend = await selectBackend('auto');
  const data = tokenChainKind.create(
    'chain',
    {},
    { vocab: SHAPE.vocab, step: 5, windows: 16, context: SHAPE.context },
  );
  assert.throws(
    () =>
      trainJob(
        'lm/noisy',
        data,
        { kind: llama, shape: SHAPE },
        nextToken,
        { ...SETTINGS, inputNoise: 0.1 },
        backend,
      ),
    /llama models do not implement inputNoise/,
  );
});
