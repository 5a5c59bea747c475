/**
 * A Llama-architecture transformer (the architecture of llama2.c's stories15M and of the paper's
 * §5–6 language models), with either MLP form:
 *
 *   x⁰ = embed[t]                                                   embed: (vocab, d)
 *   per layer l:  a = Attn(N(x, g_att))             causal, rotary, grouped-query when kv < heads
 *                 x ← x + Wo a
 *                 h = N(x, g_mlp)                   (+ latent noise while training)
 *                 x ← x + MLP(h)
 *   logits = U N(x, g_final)                                        U = embed when tied
 *
 *   N = RMSNorm(x, g) = g ⊙ x / √(mean(x²) + ε), as in Llama; with shape.norm 'none', N(x) = x
 *   and there are no gains: the paper's one-layer model (§5), in which a bilinear MLP's share of
 *   a token's logit, uᵀ MLP(x), is exactly the quadratic form xᵀ Q_u x of the residual stream.
 *   Latent noise (training only): h + N(0, (σ · std(h))²), std over the batch, read out as a
 *   constant of the step (as in the image models, the optimiser cannot shrink it by shrinking h).
 *   gated MLP:     W2 (Swish_β(W1 h) ⊙ W3 h),  Swish_β(z) = z·σ(βz)   (β = 1: SwiGLU; β = 0: z/2)
 *   bilinear MLP:  W2 ((W1 h) ⊙ (W3 h))
 *
 * β is the shape's `beta` unless the step's scalars name one (`beta`, a schedule while
 * finetuning). Attention per head: softmax(q kᵀ/√hs + causal mask) v, with q and k rotated by
 * position: the pair (x₂ᵢ, x₂ᵢ₊₁) of each head turns by angle pos·θ^(−2i/hs), θ = 10000, as in
 * llama2.c's run.c. Tensors are named by layer (`layers.3.w1`), in math layout (out, in).
 */
import * as tf from '@tensorflow/tfjs';
import type { LlamaCheckpoint } from '../data/llama-checkpoint.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { PipelineError } from '../errors.ts';
import { loadNative } from '../native/addon.ts';
import { gaussian } from '../native/noise.ts';
import { nativeMatMulEnabled } from '../native/kernels.ts';
import type { Rng } from '../util/random.ts';
import {
  defineModel,
  type BilinearLayerParts,
  type ForwardOptions,
  type ForwardResult,
  type Generated,
  type SampleSettings,
  type Weights,
} from './kind.ts';
// A cycle (llama-generate builds on this module's parts); each uses the other only inside functions.
import { generate } from './llama-generate.ts';

export type LlamaShape = {
  vocab: number;
  /** Residual width d. */
  dim: number;
  /** MLP hidden width. */
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** The longest context (rotary tables are built for it). */
  context: number;
  tiedEmbeddings: boolean;
  mlp: 'gated' | 'bilinear';
  /** The gate's β when no schedule sets it (gated only; 1 = SwiGLU). */
  beta: number;
  /** RMSNorm's ε (llama2.c: 1e-5). */
  normEps: number;
  /** Rotary base θ (llama2.c: 10000). */
  ropeTheta: number;
  /** 'none': no normalisation anywhere (no gains in the layout). Absent: RMSNorm, as in Llama. */
  norm?: 'none';
};

const WHOLE = ['vocab', 'dim', 'hidden', 'layers', 'heads', 'kvHeads', 'context'] as const;

function checkShape(raw: unknown): LlamaShape {
  const s = (raw ?? {}) as Partial<LlamaShape>;
  const bad = (what: string) => new PipelineError(`llama model: ${what}`, { exitCode: 2 });
  for (const name of WHOLE)
    if (!Number.isInteger(s[name]) || s[name]! < 1)
      throw bad(`shape.${name} must be a whole number ≥ 1, got ${JSON.stringify(s[name])}`);
  if (s.dim! % s.heads! !== 0 || (s.dim! / s.heads!) % 2 !== 0)
    throw bad(`shape.dim ${s.dim} must be heads (${s.heads}) × an even head size`);
  if (s.heads! % s.kvHeads! !== 0)
    throw bad(`shape.heads ${s.heads} must be a multiple of shape.kvHeads ${s.kvHeads}`);
  if (s.mlp !== 'gated' && s.mlp !== 'bilinear')
    throw bad(`shape.mlp must be 'gated' or 'bilinear', got ${JSON.stringify(s.mlp)}`);
  if (typeof s.tiedEmbeddings !== 'boolean') throw bad('shape.tiedEmbeddings must be true or false');
  for (const name of ['beta', 'normEps', 'ropeTheta'] as const)
    if (typeof s[name] !== 'number' || !Number.isFinite(s[name]))
      throw bad(`shape.${name} must be a finite number`);
  if (s.normEps! <= 0 || s.ropeTheta! <= 0) throw bad('shape.normEps and shape.ropeTheta must be positive');
  if (s.norm !== undefined && s.norm !== 'none')
    throw bad(
      `shape.norm must be 'none' (no normalisation) or absent (RMSNorm), got ${JSON.stringify(s.norm)}`,
    );
  return {
    vocab: s.vocab!,
    dim: s.dim!,
    hidden: s.hidden!,
    layers: s.layers!,
    heads: s.heads!,
    kvHeads: s.kvHeads!,
    context: s.context!,
    tiedEmbeddings: s.tiedEmbeddings!,
    mlp: s.mlp!,
    beta: s.beta!,
    normEps: s.normEps!,
    ropeTheta: s.ropeTheta!,
    ...(s.norm ? { norm: s.norm } : {}),
  };
}

const headSize = (s: LlamaShape) => s.dim / s.heads;
const normalized = (s: LlamaShape) => s.norm !== 'none';

function layout(s: LlamaShape): Record<string, number[]> {
  const hs = headSize(s);
  const out: Record<string, number[]> = { embed: [s.vocab, s.dim] };
  for (let l = 0; l < s.layers; l++) {
    Object.assign(out, {
      ...(normalized(s) ? { [`layers.${l}.attn_norm`]: [s.dim] } : {}),
      [`layers.${l}.wq`]: [s.heads * hs, s.dim],
      [`layers.${l}.wk`]: [s.kvHeads * hs, s.dim],
      [`layers.${l}.wv`]: [s.kvHeads * hs, s.dim],
      [`layers.${l}.wo`]: [s.dim, s.heads * hs],
      ...(normalized(s) ? { [`layers.${l}.mlp_norm`]: [s.dim] } : {}),
      [`layers.${l}.w1`]: [s.hidden, s.dim],
      [`layers.${l}.w2`]: [s.dim, s.hidden],
      [`layers.${l}.w3`]: [s.hidden, s.dim],
    });
  }
  if (normalized(s)) out['final_norm'] = [s.dim];
  if (!s.tiedEmbeddings) out['unembed'] = [s.vocab, s.dim];
  return out;
}

/**
 * llama2.c's and nanoGPT's initialisation: every matrix N(0, 0.02²), the two projections back
 * into the residual stream (wo, w2) scaled by 1/√(2·layers) so the residual's variance does not
 * grow with depth; norm gains 1. Drawn in layout order.
 */
function init(s: LlamaShape, rng: Rng): Weights {
  const residualStd = 0.02 / Math.sqrt(2 * s.layers);
  return Object.fromEntries(
    Object.entries(layout(s)).map(([name, dims]) => {
      const size = dims.reduce((a, b) => a * b, 1);
      if (dims.length === 1) return [name, new Float32Array(size).fill(1)];
      return [name, rng.normalArray(size, /\.(wo|w2)$/.test(name) ? residualStd : 0.02)];
    }),
  );
}

/** g ⊙ x / √(mean(x²) + ε) over the last axis. */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor, eps: number): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), gain);
}

/** The shape's normalisation of x with the named gain: RMSNorm, or x itself when shape.norm is 'none'. */
export function norm(s: LlamaShape, p: Record<string, tf.Tensor>, gain: string, x: tf.Tensor2D): tf.Tensor2D {
  return normalized(s) ? (rmsNorm(x, p[gain]!, s.normEps) as tf.Tensor2D) : x;
}

/** h plus latent noise while training (see the header); h itself otherwise. */
function withLatentNoise(h: tf.Tensor2D, noise: ForwardOptions['noise'], l: number): tf.Tensor2D {
  if (!noise || !(noise.latent > 0)) return h;
  const std = tf.tidy(() => tf.sqrt(tf.moments(h).variance).dataSync()[0]!);
  return tf.add(h, tf.tensor(gaussian(h.size, std * noise.latent, noise.seed + 7919 * l), h.shape));
}

/**
 * Rotary tables for positions [start, start + T): cos and sin (T, 1, hs), each angle repeated for
 * both members of its pair, and the pair swap P (hs, hs) with x P = (−x₁, x₀) per pair, so that
 * rotate(x) = x ⊙ cos + (x P) ⊙ sin: three element-wise products and one small matrix product,
 * all with gradients on every backend.
 */
export function ropeTables(
  s: LlamaShape,
  start: number,
  T: number,
): { cos: tf.Tensor; sin: tf.Tensor; swap: tf.Tensor2D } {
  const hs = headSize(s);
  const cos = new Float32Array(T * hs);
  const sin = new Float32Array(T * hs);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < hs; i += 2) {
      // Float32 as in run.c: freq = 1 / powf(θ, i / hs), angle = pos · freq.
      const freq = Math.fround(1 / Math.fround(s.ropeTheta ** Math.fround(i / hs)));
      const angle = Math.fround((start + t) * freq);
      cos[t * hs + i] = cos[t * hs + i + 1] = Math.cos(angle);
      sin[t * hs + i] = sin[t * hs + i + 1] = Math.sin(angle);
    }
  }
  const swap = new Float32Array(hs * hs);
  for (let i = 0; i < hs; i += 2) {
    swap[(i + 1) * hs + i] = -1; // out[i] = −x[i+1]
    swap[i * hs + i + 1] = 1; // out[i+1] = x[i]
  }
  return {
    cos: tf.tensor3d(cos, [T, 1, hs]),
    sin: tf.tensor3d(sin, [T, 1, hs]),
    swap: tf.tensor2d(swap, [hs, hs]),
  };
}

/** x (n, T, heads, hs) rotated by position. */
export function rotate(x: tf.Tensor, rope: { cos: tf.Tensor; sin: tf.Tensor; swap: tf.Tensor2D }): tf.Tensor {
  const hs = x.shape.at(-1)!;
  const swapped = tf.reshape(tf.matMul(tf.reshape(x, [-1, hs]) as tf.Tensor2D, rope.swap), x.shape);
  return tf.add(tf.mul(x, rope.cos), tf.mul(swapped, rope.sin));
}

/** k or v (n, kvHeads, T, hs) repeated to (n, heads, T, hs): each kv head serves heads/kvHeads query heads. */
export function repeatKv(x: tf.Tensor, heads: number): tf.Tensor {
  const [n, kv, T, hs] = x.shape as [number, number, number, number];
  if (kv === heads) return x;
  // Rank 4, not 5: TensorFlow.js has Tile's gradient up to rank 4.
  return tf.reshape(tf.tile(tf.reshape(x, [n, kv, 1, T * hs]), [1, 1, heads / kv, 1]), [n, heads, T, hs]);
}

/**
 * Scaled dot-product attention, q (n, H, Tq, hs) against k, v (n, H, Tk, hs); query i sits at
 * position Tk − Tq + i and sees keys at positions ≤ its own.
 */
export function causalAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const [Tq, hs] = q.shape.slice(2) as [number, number];
  const Tk = k.shape[2]!;
  const mask = new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = Tk - Tq + i + 1; j < Tk; j++) mask[i * Tk + j] = -1e9;
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), tf.tensor2d(mask, [Tq, Tk])); // (n, H, Tq, Tk)
  return tf.matMul(tf.softmax(scores), v); // (n, H, Tq, hs)
}

/** The MLP on h (N, d): gated with the given β, or bilinear. */
export function mlp(
  p: Record<string, tf.Tensor>,
  l: number,
  h: tf.Tensor2D,
  form: LlamaShape['mlp'],
  beta: number,
): { hidden: tf.Tensor2D; out: tf.Tensor2D } {
  const a = tf.matMul(h, p[`layers.${l}.w1`] as tf.Tensor2D, false, true); // (N, hidden)
  const b = tf.matMul(h, p[`layers.${l}.w3`] as tf.Tensor2D, false, true);
  const gate = form === 'bilinear' ? a : beta === 0 ? tf.mul(a, 0.5) : tf.mul(a, tf.sigmoid(tf.mul(a, beta)));
  const hidden = tf.mul(gate, b) as tf.Tensor2D;
  return { hidden, out: tf.matMul(hidden, p[`layers.${l}.w2`] as tf.Tensor2D, false, true) };
}

/**
 * The embedding rows of `ids`, with a gradient for the table that scatters the rows' gradients
 * back (tf.gather's own gradient needs UnsortedSegmentSum, which the wasm backend lacks; a one-hot
 * product would cost vocab × d per token): natively into the wasm heap when the native kernels are
 * on, else in JavaScript.
 */
const embedRows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([ids]);
  return {
    value: tf.gather(table, ids) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [
      scatterRows(dy, saved[0] as tf.Tensor1D, table.shape[0]),
      tf.zerosLike(saved[0]!),
    ],
  };
});

/** A (vocab, d) table, zero but for out[ids[r]] += rows[r]. */
function scatterRows(rows: tf.Tensor2D, ids: tf.Tensor1D, vocab: number): tf.Tensor2D {
  const d = rows.shape[1];
  const addon = nativeMatMulEnabled() && tf.getBackend() === 'wasm' ? loadNative() : null;
  if (addon) {
    const backend = tf.backend() as BackendWasm;
    const out = backend.makeOutput([vocab, d], 'float32');
    // Views only after the allocation: it may grow (and so replace) the heap's buffer.
    addon.scatterRows(
      backend.typedArrayFromHeap(out) as Float32Array,
      backend.typedArrayFromHeap(rows) as Float32Array,
      backend.typedArrayFromHeap(ids) as Int32Array,
      d,
    );
    return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
  }
  const grad = new Float32Array(vocab * d);
  const g = rows.dataSync() as Float32Array;
  const at = ids.dataSync() as Int32Array;
  for (let r = 0; r < at.length; r++) {
    const base = at[r]! * d;
    for (let j = 0; j < d; j++) grad[base + j]! += g[r * d + j]!;
  }
  return tf.tensor2d(grad, [vocab, d]);
}

/** The token embeddings of ids (n, T): (n·T, d). */
export function embedTokens(p: Record<string, tf.Tensor>, ids: tf.Tensor): tf.Tensor2D {
  return embedRows(p['embed']!, tf.cast(tf.reshape(ids, [-1]), 'int32')) as tf.Tensor2D;
}

/** The unembedding U (vocab, d): its own, or the embedding when tied. */
export const unembedding = (s: LlamaShape, p: Record<string, tf.Tensor>): tf.Tensor2D =>
  (s.tiedEmbeddings ? p['embed'] : p['unembed']) as tf.Tensor2D;

/** β of this forward pass: the step's scheduled value, else the shape's. */
export const betaOf = (s: LlamaShape, options: ForwardOptions): number => options.scalars?.['beta'] ?? s.beta;

/**
 * The forward pass over whole windows: tokens (n, T) int32 → logits (n, T, vocab), with hooks
 * (each (n, T, ·)): `resid-pre.l` the residual stream entering layer l, `attn-out.l` and
 * `mlp-out.l` what layer l's attention and MLP add to it, `mlp-in.l` the MLP's input h (with
 * its latent noise while training), `mlp-hidden.l` its hidden activation, `resid-final` the
 * stream before the final norm. Without norms, resid-final = embed + Σ_l (attn-out.l + mlp-out.l).
 */
export function forwardLlama(
  s: LlamaShape,
  p: Record<string, tf.Tensor>,
  tokens: tf.Tensor,
  options: ForwardOptions = {},
): ForwardResult {
  const [n, T] = tokens.shape as [number, number];
  if (T > s.context)
    throw new PipelineError(
      `llama model: a window of ${T} tokens is longer than the model's context of ${s.context}`,
      { exitCode: 2 },
    );
  const hs = headSize(s);
  const beta = betaOf(s, options);
  const wanted = new Set(options.hooks ?? []);
  const hooks: Record<string, tf.Tensor> = {};
  const keep = (name: string, t: tf.Tensor) => {
    if (wanted.has(name)) hooks[name] = tf.reshape(t, [n, T, -1]);
  };
  const rope = ropeTables(s, 0, T);
  let x = embedTokens(p, tokens); // (n·T, d)
  for (let l = 0; l < s.layers; l++) {
    keep(`resid-pre.${l}`, x);
    const a = norm(s, p, `layers.${l}.attn_norm`, x);
    const heads = (w: string, count: number) =>
      tf.reshape(tf.matMul(a, p[`layers.${l}.${w}`] as tf.Tensor2D, false, true), [n, T, count, hs]);
    const q = tf.transpose(rotate(heads('wq', s.heads), rope), [0, 2, 1, 3]); // (n, H, T, hs)
    const k = repeatKv(tf.transpose(rotate(heads('wk', s.kvHeads), rope), [0, 2, 1, 3]), s.heads);
    const v = repeatKv(tf.transpose(heads('wv', s.kvHeads), [0, 2, 1, 3]), s.heads);
    const attended = tf.reshape(tf.transpose(causalAttention(q, k, v), [0, 2, 1, 3]), [
      n * T,
      s.dim,
    ]) as tf.Tensor2D;
    const attnOut = tf.matMul(attended, p[`layers.${l}.wo`] as tf.Tensor2D, false, true);
    keep(`attn-out.${l}`, attnOut);
    x = tf.add(x, attnOut);
    const h = withLatentNoise(norm(s, p, `layers.${l}.mlp_norm`, x as tf.Tensor2D), options.noise, l);
    const { hidden, out } = mlp(p, l, h, s.mlp, beta);
    keep(`mlp-in.${l}`, h);
    keep(`mlp-hidden.${l}`, hidden);
    keep(`mlp-out.${l}`, out);
    x = tf.add(x, out);
  }
  keep('resid-final', x);
  const logits = tf.matMul(norm(s, p, 'final_norm', x as tf.Tensor2D), unembedding(s, p), false, true);
  return { output: tf.reshape(logits, [n, T, s.vocab]), hooks };
}

export const llama = defineModel<LlamaShape>({
  name: 'llama',
  module: import.meta.url,
  checkShape,
  layout,
  init,
  hookPoints: ['resid-pre.*', 'attn-out.*', 'mlp-in.*', 'mlp-hidden.*', 'mlp-out.*', 'resid-final'],
  forward: forwardLlama,
  noises: ['latent'],
  scalars: ['beta'],
  // Matrices decay; norm gains do not (llama2.c's train.py: every tensor of rank ≥ 2).
  decays: (name) => !name.endsWith('_norm'),
  describe: (s) =>
    `Llama transformer, ${s.layers} layer${s.layers === 1 ? '' : 's'}, d = ${s.dim}, ${s.heads} heads${s.kvHeads < s.heads ? ` (${s.kvHeads} kv)` : ''}, ${s.mlp === 'bilinear' ? 'bilinear' : `gated (β = ${s.beta})`} MLP of width ${s.hidden}${normalized(s) ? '' : ', no normalisation'}, vocabulary ${s.vocab}, context ${s.context}`,
  layoutText:
    'x = embed[t]; per layer: x += wo·Attn(RMSNorm(x)·attn_norm) (causal, rotary θ = ropeTheta, pairs (2i, 2i+1)); h = RMSNorm(x)·mlp_norm; x += w2(Swish_β(w1 h) * (w3 h)) (gated) or w2((w1 h) * (w3 h)) (bilinear); logits = U(RMSNorm(x)·final_norm), U = unembed or embed when tied; with shape.norm "none" every RMSNorm(v)·g is v itself and the *_norm tensors are absent; matrices (out, in); no biases',
  bilinearLayers,
  sample,
});

/** Continuations of prompts (llama-generate.ts: a key/value cache, greedy or nucleus sampling). */
function sample(s: LlamaShape, w: Weights, prompts: number[][], settings: SampleSettings): Generated {
  const p = llamaParams(s, w);
  try {
    return generate(s, p, prompts, settings);
  } finally {
    tf.dispose(Object.values(p));
  }
}

/**
 * The MLPs that are exactly bilinear (every layer of a bilinear model; of a gated one only at
 * β = 0, where Swish_0(z) = z/2 puts ½ into the output matrix). The input is the residual stream
 * normalized to unit RMS, x/√(mean(x²) + ε), with the norm's gain folded into W1 and W3, so that
 * directions are read in the residual stream's own basis; without norms, the residual stream.
 */
function bilinearLayers(s: LlamaShape, w: Weights): BilinearLayerParts[] {
  if (s.mlp === 'gated' && s.beta !== 0) return [];
  const scale = s.mlp === 'gated' ? 0.5 : 1;
  return Array.from({ length: s.layers }, (_, l) => {
    const gain = w[`layers.${l}.mlp_norm`];
    const folded = (m: Float32Array) => (gain ? m.map((v, i) => v * gain[i % s.dim]!) : m);
    return {
      name: `layers.${l}.mlp`,
      input: gain
        ? `layer ${l} MLP input (normalized residual stream)`
        : `layer ${l} MLP input (the residual stream)`,
      output: 'residual stream',
      E: null,
      W: { data: folded(w[`layers.${l}.w1`]!), rows: s.hidden, cols: s.dim },
      V: { data: folded(w[`layers.${l}.w3`]!), rows: s.hidden, cols: s.dim },
      P: {
        data: scale === 1 ? w[`layers.${l}.w2`]! : w[`layers.${l}.w2`]!.map((v) => v * scale),
        rows: s.dim,
        cols: s.hidden,
      },
    };
  });
}

/** A llama2.c checkpoint as this kind's shape and weights (its gated MLP at the given β, 1 = as trained). */
export function llamaFromCheckpoint(
  checkpoint: LlamaCheckpoint,
  beta = 1,
): { shape: LlamaShape; weights: Weights } {
  const c = checkpoint.config;
  const a = checkpoint.arrays;
  const shape: LlamaShape = {
    vocab: c.vocab,
    dim: c.dim,
    hidden: c.hidden,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    context: c.context,
    tiedEmbeddings: c.tiedEmbeddings,
    mlp: 'gated',
    beta,
    normEps: 1e-5,
    ropeTheta: 10000,
  };
  const sizes = layout(shape);
  const weights: Weights = { embed: a.tokenEmbedding, final_norm: a.rmsFinal };
  if (!c.tiedEmbeddings) weights['unembed'] = a.wcls;
  const perLayer = {
    attn_norm: a.rmsAtt,
    wq: a.wq,
    wk: a.wk,
    wv: a.wv,
    wo: a.wo,
    mlp_norm: a.rmsFfn,
    w1: a.w1,
    w2: a.w2,
    w3: a.w3,
  };
  for (let l = 0; l < c.layers; l++) {
    for (const [name, stacked] of Object.entries(perLayer)) {
      const size = sizes[`layers.${l}.${name}`]!.reduce((x, y) => x * y, 1);
      weights[`layers.${l}.${name}`] = stacked.subarray(l * size, (l + 1) * size);
    }
  }
  return { shape, weights };
}

/** Weights as tensors for this kind's forward pass (the caller disposes them). */
export function llamaParams(shape: LlamaShape, weights: Weights): Record<string, tf.Tensor> {
  const sizes = layout(shape);
  return Object.fromEntries(
    Object.entries(sizes).map(([name, dims]) => [name, tf.tensor(weights[name]!, dims)]),
  );
}
