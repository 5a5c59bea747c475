/**
 * The llama kind's transformer view (models/kind.ts: TransformerView), checked against the
 * model's own forward pass, with and without RMSNorm and with grouped-query attention, so that
 * analyses reading a model through it read what the model computes:
 * - one token alone (T = 1) has attention weight 1 on itself and rotary angle 0, so its attention
 *   output is Σ_h W_O^h W_V^h x̂ exactly, with each head's OV from `headOV`;
 * - the MLP's output along u is x̂ᵀ Q_u x̂ with x̂ from `mlpInput` and Q_u from the MLP's bilinear
 *   layer (gains folded into W1 and W3);
 * - the logits are U x̂ of the final stream, U from `unembedding` (the final gain folded in);
 * - on the packaged stories15M read at β = 0 and real story positions, the last layer's MLP
 *   share of every logit is x̂ᵀ Q_t x̂ up to the final norm's positive scale:
 *   rms(x_final) · logit_t = U[t] · x_pre + x̂ᵀ Q_t x̂, x_pre the stream before that MLP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { interactionMatrix, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer } from '../../pipeline/decompose/layer.ts';
import { forwardWithHooks, type Weights } from '../../pipeline/models/kind.ts';
import { readLlamaCheckpoint } from '../../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, readRange } from '../../pipeline/data/llama-files.ts';
import { readLlamaTokenizer } from '../../pipeline/data/llama-tokenizer.ts';
import { llama, llamaFromCheckpoint, llamaParams, type LlamaShape } from '../../pipeline/models/llama.ts';
import { ovPullback, rowScores } from '../../pipeline/analysis/token-readings.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

const BASE: LlamaShape = {
  vocab: 13,
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  context: 6,
  tiedEmbeddings: false,
  mlp: 'bilinear',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};
const SHAPES: [string, LlamaShape][] = [
  ['RMSNorm, grouped-query', BASE],
  ['no norm, tied embeddings', { ...BASE, norm: 'none', tiedEmbeddings: true, kvHeads: 4 }],
];
const view = llama.transformer!;

/** Random weights, the norm gains too (llama's init sets them to 1, which would hide an unfolded gain). */
function weightsOf(shape: LlamaShape, seed: number): Weights {
  const rng = new Rng(seed);
  const w = llama.init(shape, rng);
  for (const [name, values] of Object.entries(w))
    if (name.endsWith('_norm')) values.set(values.map(() => 0.5 + rng.uniform()));
  return w;
}

/** fn's result, its tensors freed (tf.tidy itself returns only tensors). */
function tidily<T>(fn: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = fn();
  });
  return out!;
}

/** The forward pass of one window of token ids, with the named activations, as float64 arrays. */
function run(shape: LlamaShape, w: Weights, ids: number[], hooks: string[]): Record<string, Float64Array> {
  return tidily(() => {
    const p = llamaParams(shape, w);
    const out = forwardWithHooks(llama, shape, p, tf.tensor2d([ids], [1, ids.length], 'int32'), hooks);
    const read = (t: tf.Tensor) => Float64Array.from(t.dataSync());
    return { logits: read(out.output), ...Object.fromEntries(hooks.map((h) => [h, read(out.hooks[h]!)])) };
  });
}

const unitRms = (x: Float64Array, eps: number, normalized: boolean) => {
  if (!normalized) return x;
  const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + eps);
  return x.map((v) => v / rms);
};

test('one token alone: its attention output is the sum over heads of W_O W_V x̂, each from headOV', async () => {
  await selectBackend('cpu');
  for (const [label, shape] of SHAPES) {
    const w = weightsOf(shape, 3);
    const d = shape.dim;
    for (const l of [0, 1]) {
      const h = run(shape, w, [5], [`resid-pre.${l}`, `attn-out.${l}`]);
      const x = unitRms(h[`resid-pre.${l}`]!, shape.normEps, view.normalized(shape));
      const sum = new Float64Array(d);
      for (let head = 0; head < shape.heads; head++) {
        // ovPullback(v) · x = vᵀ W_O W_V x̂: with v = e_i, the i-th output coordinate of the head
        const ov = view.headOV(shape, w, l, head);
        for (let i = 0; i < d; i++) {
          const e = Float64Array.from({ length: d }, (_, j) => (j === i ? 1 : 0));
          sum[i]! += rowScores(x, 1, d, ovPullback(ov, e))[0]!;
        }
      }
      assertClose(sum, h[`attn-out.${l}`]!, { atol: 1e-5, rtol: 1e-4, label: `${label}, layer ${l}` });
    }
  }
});

test("uᵀ MLP(x) = x̂ᵀ Q_u x̂ at every position, with x̂ from mlpInput and Q_u from the MLP's bilinear layer", async () => {
  await selectBackend('cpu');
  const ids = [1, 7, 3, 12, 0];
  for (const [label, shape] of SHAPES) {
    const w = weightsOf(shape, 4);
    const d = shape.dim;
    const layers = llama.bilinearLayers(shape, w);
    const rng = new Rng(9);
    for (const l of [0, 1]) {
      const out = run(shape, w, ids, [`mlp-out.${l}`])[`mlp-out.${l}`]!;
      const x = tidily(() => {
        const p = llamaParams(shape, w);
        const t = view.mlpInput(shape, p, tf.tensor2d([ids], [1, ids.length], 'int32'), l);
        assert.deepEqual(t.shape, [ids.length, d]);
        return Float64Array.from(t.dataSync());
      });
      const layer = bilinearLayer(layers.find((b) => b.name === view.mlpLayer(shape, l))!);
      const u = Float64Array.from({ length: d }, () => rng.normal());
      const q = interactionMatrix(layer, u);
      const fromQ = ids.map((_, n) => quadraticForm(q, x.subarray(n * d, (n + 1) * d)));
      const direct = ids.map((_, n) =>
        out.subarray(n * d, (n + 1) * d).reduce((s, v, i) => s + v * u[i]!, 0),
      );
      assertClose(fromQ, direct, { atol: 1e-4, rtol: 1e-4, label: `${label}, layer ${l}` });
    }
  }
});

test('the logits are the folded unembedding times x̂ of the final stream; the embedding is the stream at layer 0', async () => {
  await selectBackend('cpu');
  const ids = [2, 9, 4];
  for (const [label, shape] of SHAPES) {
    const w = weightsOf(shape, 5);
    const d = shape.dim;
    const h = run(shape, w, ids, ['resid-final', 'resid-pre.0']);
    const U = view.unembedding(shape, w);
    const E = view.embedding(shape, w);
    for (let n = 0; n < ids.length; n++) {
      const x = unitRms(
        h['resid-final']!.subarray(n * d, (n + 1) * d),
        shape.normEps,
        view.normalized(shape),
      );
      const logits = rowScores(U, shape.vocab, d, x);
      assertClose(logits, h['logits']!.subarray(n * shape.vocab, (n + 1) * shape.vocab), {
        atol: 1e-4,
        rtol: 1e-4,
        label: `${label}, position ${n}`,
      });
      assertClose(
        E.subarray(ids[n]! * d, (ids[n]! + 1) * d),
        h['resid-pre.0']!.subarray(n * d, (n + 1) * d),
        {
          atol: 0,
          label: `${label}: embedding row ${ids[n]}`,
        },
      );
    }
  }
  assert.deepEqual(view.sizes(BASE), { vocab: 13, d: 8, layers: 2, heads: 4 });
  assert.equal(view.bilinearMlp({ ...BASE, mlp: 'gated', beta: 1 }), false);
  assert.equal(view.bilinearMlp({ ...BASE, mlp: 'gated', beta: 0 }), true);
});

const files = locateLlamaFiles();
const noPackage = 'missing' in files ? files.missing : false;

test(
  'stories15M at β = 0 on story positions: rms(x_final) · logit_t = U[t] · x_pre + x̂ᵀ Q_t x̂ for the last MLP',
  { skip: noPackage },
  async () => {
    await selectBackend('cpu');
    if ('missing' in files) return;
    const checkpoint = readLlamaCheckpoint(readRange(files.checkpoint), files.checkpoint.name);
    const { shape: original, weights: w } = llamaFromCheckpoint(checkpoint);
    const shape = { ...original, beta: 0 }; // the gate at β = 0: the MLPs bilinear
    const tokenizer = readLlamaTokenizer(readRange(files.tokenizer), shape.vocab, files.tokenizer.name);
    const ids = tokenizer.encode('Once upon a time, there was a little girl named Lily. She liked to play', {
      bos: true,
    });
    const last = shape.layers - 1;
    const d = shape.dim;
    const h = run(shape, w, ids, [`resid-pre.${last}`, `attn-out.${last}`, 'resid-final']);
    const x = tidily(() => {
      const p = llamaParams(shape, w);
      return Float64Array.from(
        view.mlpInput(shape, p, tf.tensor2d([ids], [1, ids.length], 'int32'), last).dataSync(),
      );
    });
    const layer = bilinearLayer(
      llama.bilinearLayers(shape, w).find((b) => b.name === view.mlpLayer(shape, last))!,
    );
    const U = view.unembedding(shape, w);
    const targets = [' girl', ' boy', ' play', ' the', '.'].map((text) => tokenizer.encode(text.trim())[0]!);
    for (const t of targets) {
      const u = U.subarray(t * d, (t + 1) * d);
      const q = interactionMatrix(layer, u);
      for (let n = 0; n < ids.length; n++) {
        const at = (v: Float64Array) => v.subarray(n * d, (n + 1) * d);
        const pre = at(h[`resid-pre.${last}`]!).map((v, i) => v + at(h[`attn-out.${last}`]!)[i]!);
        const final = at(h['resid-final']!);
        const rms = Math.sqrt(final.reduce((s, v) => s + v * v, 0) / d + shape.normEps);
        const logit = h['logits']![n * shape.vocab + t]!;
        const share = quadraticForm(q, at(x));
        const sum = pre.reduce((s, v, i) => s + v * u[i]!, 0) + share;
        // float32 forward pass against a float64 Q_t: the stream's entries reach ~10, the sum ~100
        assertClose(rms * logit, sum, { atol: 2e-3, rtol: 2e-4, label: `token ${t}, position ${n}` });
      }
    }
  },
);
