/**
 * The transformer block of a Llama-architecture model, the one both the whole-window forward pass
 * (llama.ts) and the cached sampler (llama-generate.ts) run, with its parts: the shape, causal
 * attention, the MLP in either form, the embedding and unembedding. The element-wise operations
 * (RMSNorm, rotary positions, the gate) are in llama-ops.ts, the sampler's cache in kv-cache.ts.
 * The equations are in llama.ts's header; shapes are beside each function.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, nativeKernels, onHeap } from '../native/heap.ts';
import { gaussian } from '../native/noise.ts';
import type { ForwardOptions } from './kind.ts';
import type { KvCache } from './kv-cache.ts';
import { causalSoftmax, rmsNorm, ropeTable, rotateToHeads, swiglu, type RopeTable } from './llama-ops.ts';

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

/** The width of one attention head. */
export const headSize = (s: LlamaShape) => s.dim / s.heads;
/** Whether the shape has RMSNorm (and so gains) at all. */
export const normalized = (s: LlamaShape) => s.norm !== 'none';

/** The shape's normalisation of x with the named gain: RMSNorm, or x itself when shape.norm is 'none'. */
export function norm(s: LlamaShape, p: Record<string, tf.Tensor>, gain: string, x: tf.Tensor2D): tf.Tensor2D {
  return normalized(s) ? rmsNorm(x, p[gain] as tf.Tensor1D, s.normEps) : x;
}

/** The shape's rotary table, for every position of its context. */
export const ropeOf = (s: LlamaShape): RopeTable => ropeTable(headSize(s), s.ropeTheta, s.context);

/**
 * What a block needs besides its input x (n·T, d): the batch n and window T, and either the
 * sampler's key/value cache with the window's one position `pos` (T = 1), or nothing: a whole
 * window from position 0 under the causal mask. Hooks and latent noise serve training and analysis.
 */
export interface BlockContext {
  n: number;
  T: number;
  beta: number;
  cache?: { kv: KvCache; pos: number };
  noise?: ForwardOptions['noise'];
  /** Receives each hooked activation as it is computed (names as in llama.ts's forward pass). */
  keep?: (name: string, t: tf.Tensor) => void;
}

/**
 * Layer l of the transformer on x (n·T, d), returning the stream after it (n·T, d):
 *   x ← x + Wo Attn(N(x, g_att));  x ← x + MLP(N(x, g_mlp) + latent noise)
 * The one block both the training forward pass and the cached sampler run.
 */
export function block(
  s: LlamaShape,
  p: Record<string, tf.Tensor>,
  l: number,
  x: tf.Tensor2D,
  c: BlockContext,
): tf.Tensor2D {
  const keep = c.keep ?? (() => {});
  keep(`resid-pre.${l}`, x);
  const a = norm(s, p, `layers.${l}.attn_norm`, x);
  const project = (w: string) => tf.matMul<tf.Tensor2D>(a, p[`layers.${l}.${w}`] as tf.Tensor2D, false, true); // (n·T, heads·hs)
  const [q, k, v] = [project('wq'), project('wk'), project('wv')];
  const attended = c.cache
    ? c.cache.kv.attend(l, q, k, v, c.cache.pos)
    : windowAttention(s, q, k, v, c.n, c.T); // (n·T, d)
  const attnOut = tf.matMul(attended, p[`layers.${l}.wo`] as tf.Tensor2D, false, true);
  keep(`attn-out.${l}`, attnOut);
  const mid = tf.add<tf.Tensor2D>(x, attnOut);
  const h = withLatentNoise(norm(s, p, `layers.${l}.mlp_norm`, mid), c.noise, l);
  const { hidden, out } = mlp(p, l, h, s.mlp, c.beta);
  keep(`mlp-in.${l}`, h);
  keep(`mlp-hidden.${l}`, hidden);
  keep(`mlp-out.${l}`, out);
  return tf.add<tf.Tensor2D>(mid, out);
}

/** Causal attention over whole windows from position 0: q (n·T, heads·hs), k, v (n·T, kvHeads·hs) → (n·T, d). */
function windowAttention(
  s: LlamaShape,
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  n: number,
  T: number,
): tf.Tensor2D {
  const hs = headSize(s);
  const rope = ropeOf(s);
  const qh = rotateToHeads(q, n, T, s.heads, rope); // (n, H, T, hs)
  const kh = repeatKv(rotateToHeads(k, n, T, s.kvHeads, rope), s.heads);
  const vh = repeatKv(tf.transpose(tf.reshape(v, [n, T, s.kvHeads, hs]), [0, 2, 1, 3]), s.heads);
  return tf.reshape<tf.Rank.R2>(tf.transpose(causalAttention(qh, kh, vh), [0, 2, 1, 3]), [n * T, s.dim]);
}

/** h plus latent noise while training (see llama.ts's header); h itself otherwise. */
function withLatentNoise(h: tf.Tensor2D, noise: ForwardOptions['noise'], l: number): tf.Tensor2D {
  if (!noise || !(noise.latent > 0)) return h;
  const std = tf.tidy(() => tf.sqrt(tf.moments(h).variance).dataSync()[0]!);
  return tf.add(h, tf.tensor(gaussian(h.size, std * noise.latent, noise.seed + 7919 * l), h.shape));
}

/**
 * k or v (n, kvHeads, T, hs) repeated to (n, heads, T, hs): each kv head serves heads/kvHeads query heads.
 */
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
  const hs = q.shape[3]!;
  const scores = tf.matMul<tf.Tensor4D>(q, k, false, true); // (n, H, Tq, Tk)
  return tf.matMul(causalSoftmax(scores, 1 / Math.sqrt(hs)), v); // (n, H, Tq, hs)
}

/** The MLP on h (N, d): gated with the given β, or bilinear. */
export function mlp(
  p: Record<string, tf.Tensor>,
  l: number,
  h: tf.Tensor2D,
  form: LlamaShape['mlp'],
  beta: number,
): { hidden: tf.Tensor2D; out: tf.Tensor2D } {
  const a = tf.matMul<tf.Tensor2D>(h, p[`layers.${l}.w1`] as tf.Tensor2D, false, true); // (N, hidden)
  const b = tf.matMul<tf.Tensor2D>(h, p[`layers.${l}.w3`] as tf.Tensor2D, false, true);
  const hidden =
    form === 'bilinear'
      ? tf.mul<tf.Tensor2D>(a, b)
      : beta === 0
        ? tf.mul<tf.Tensor2D>(tf.mul(a, 0.5), b)
        : swiglu(a, b, beta);
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
    value: tf.gather<tf.Tensor2D>(table, ids),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [
      scatterRows(dy, saved[0] as tf.Tensor1D, table.shape[0]),
      tf.zerosLike(saved[0]!),
    ],
  };
});

/** A (vocab, d) table, zero but for out[ids[r]] += rows[r]. */
function scatterRows(rows: tf.Tensor2D, ids: tf.Tensor1D, vocab: number): tf.Tensor2D {
  const d = rows.shape[1];
  const addon = nativeKernels();
  if (addon)
    return onHeap([rows], [[vocab, d]], ([rv], [out]) =>
      addon.scatterRows(out!, rv!, heapView(ids) as Int32Array, d),
    )[0] as tf.Tensor2D;
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
  const table = p['embed'] as tf.Tensor2D;
  // Sampling: rows copied straight from the table in the wasm heap (the stock gather kernel took
  // a millisecond a step for 125 rows). Training keeps the differentiable lookup.
  if (nativeKernels() && !tf.engine().isTapeOn()) {
    const [vocab, d] = table.shape;
    const at = Int32Array.from(ids.dataSync());
    const bad = at.find((id) => !(id >= 0 && id < vocab));
    if (bad !== undefined)
      throw new Error(`embedding: token id ${bad} is outside the vocabulary of ${vocab}`);
    return onHeap([table], [[at.length, d]], ([rows], [out]) =>
      at.forEach((id, r) => out!.set(rows!.subarray(id * d, (id + 1) * d), r * d)),
    )[0] as tf.Tensor2D;
  }
  return embedRows(table, tf.cast(tf.reshape(ids, [-1]), 'int32'));
}

/** The unembedding U (vocab, d): its own, or the embedding when tied. */
export const unembedding = (s: LlamaShape, p: Record<string, tf.Tensor>): tf.Tensor2D =>
  (s.tiedEmbeddings ? p['embed'] : p['unembed']) as tf.Tensor2D;

/** β of this forward pass: the step's scheduled value, else the shape's. */
export const betaOf = (s: LlamaShape, options: ForwardOptions): number => options.scalars?.['beta'] ?? s.beta;
