/**
 * The parts of a Llama-architecture transformer that the whole-window forward pass (llama.ts)
 * and the cached sampler (llama-generate.ts) share: the shape, RMSNorm, rotary positions,
 * causal attention, the MLP in either form, the embedding and unembedding. The equations are in
 * llama.ts's header; shapes are beside each function.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNative } from '../native/addon.ts';
import { nativeMatMulEnabled } from '../native/kernels.ts';
import type { ForwardOptions } from './kind.ts';

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

/** g ⊙ x / √(mean(x²) + ε) over the last axis. */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor, eps: number): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), gain);
}

/** The shape's normalisation of x with the named gain: RMSNorm, or x itself when shape.norm is 'none'. */
export function norm(s: LlamaShape, p: Record<string, tf.Tensor>, gain: string, x: tf.Tensor2D): tf.Tensor2D {
  return normalized(s) ? (rmsNorm(x, p[gain]!, s.normEps) as tf.Tensor2D) : x;
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
  const swapped = tf.reshape(tf.matMul(tf.reshape<tf.Rank.R2>(x, [-1, hs]), rope.swap), x.shape);
  return tf.add(tf.mul(x, rope.cos), tf.mul(swapped, rope.sin));
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
  const [Tq, hs] = q.shape.slice(2) as [number, number];
  const Tk = k.shape[2]!;
  const mask = new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = Tk - Tq + i + 1; j < Tk; j++) mask[i * Tk + j] = -1e9;
  // (n, H, Tq, Tk)
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), tf.tensor2d(mask, [Tq, Tk]));
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
  const hidden = tf.mul<tf.Tensor2D>(gate, b);
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
  return embedRows(p['embed']!, tf.cast(tf.reshape(ids, [-1]), 'int32'));
}

/** The unembedding U (vocab, d): its own, or the embedding when tied. */
export const unembedding = (s: LlamaShape, p: Record<string, tf.Tensor>): tf.Tensor2D =>
  (s.tiedEmbeddings ? p['embed'] : p['unembed']) as tf.Tensor2D;

/** β of this forward pass: the step's scheduled value, else the shape's. */
export const betaOf = (s: LlamaShape, options: ForwardOptions): number => options.scalars?.['beta'] ?? s.beta;
