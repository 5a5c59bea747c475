/**
 * The element-wise work of a Llama block as four differentiable operations, each one C pass
 * (native/llama_kernels.c) when the native kernels run on the wasm backend, and a chain of
 * TensorFlow.js operations otherwise (the portable path, and the reference the tests hold the
 * kernels to):
 *
 *   rmsNorm(x, g)           g ⊙ x / √(mean(x²) + ε) per row                       (N, d) → (N, d)
 *   rotateToHeads(x, …)     rotary positions, token-major to head-major    (n·T, H·hs) → (n, H, T, hs)
 *   swiglu(a, b, β)         a · σ(βa) · b                                   (N, m), (N, m) → (N, m)
 *   causalSoftmax(s, c)     softmax(c · s) under the causal mask      (n, H, Tq, Tk) → (n, H, Tq, Tk)
 *
 * A profile of the stories15M training step put about 60% of its time outside the matrix
 * products, most of it in these chains, their gradients and the loss's exponential; with them
 * native, the products are about 88% of the step.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernels, onHeap } from '../native/heap.ts';

/**
 * Whether a gradient tape is recording. Without one (sampling, evaluation) the native operations
 * skip tf.customGrad's bookkeeping: a single sequence's sampling step runs about 90 operations,
 * and dispatch, not arithmetic, is then a large share of its time.
 */
const recording = () => tf.engine().isTapeOn();

/** g ⊙ x / √(mean(x²) + ε) over the rows of x (N, d); no gain: g = 1. */
export function rmsNorm(x: tf.Tensor2D, gain: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  const addon = nativeKernels();
  if (!addon) {
    const normalized = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
    return (gain ? tf.mul(normalized, gain) : normalized) as tf.Tensor2D;
  }
  const [rows, d] = x.shape;
  /** y (rows, d) and the inverse RMS of each row (rows), kept for the gradient. */
  const forward = (input: tf.Tensor, g: tf.Tensor | undefined) =>
    onHeap([input, ...(g ? [g] : [])], [[rows, d], [rows]], ([xv, gv], [yv, sv]) =>
      addon.rmsNorm(xv!, gv ?? new Float32Array(0), rows, d, eps, yv!, sv!),
    );
  if (!recording()) {
    const [y, inv] = forward(x, gain ?? undefined);
    inv!.dispose();
    return y as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.at(-1) as tf.GradSaveFunc;
    const [input, g] = args.slice(0, -1) as [tf.Tensor2D, tf.Tensor1D?];
    const [y, inv] = forward(input, g);
    save([input, inv!, ...(g ? [g] : [])]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, s, gs] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D?];
        const [dx, dg] = onHeap(
          [dy, xs, s, ...(gs ? [gs] : [])],
          [[rows, d], gs ? [d] : [0]],
          (ins, [dxv, dgv]) =>
            addon.rmsNormGrad(ins[0]!, ins[1]!, ins[3] ?? new Float32Array(0), ins[2]!, rows, d, dxv!, dgv!),
        );
        if (gs) return [dx!, dg!];
        dg!.dispose();
        return [dx!];
      },
    };
  });
  return gain ? op(x, gain) : op(x);
}

/** cos and sin of every rotary angle, (positions, hs/2): row p, column i is the angle of pair i at position p. */
export interface RopeTable {
  cos: Float32Array;
  sin: Float32Array;
  positions: number;
  hs: number;
}

const ropeTables = new Map<string, RopeTable>();

/**
 * The rotary table of a head size, base θ and context (built once): pair i at position p turns by
 * p · θ^(−2i/hs), in float32 as llama2.c's run.c computes it (freq = 1 / powf(θ, 2i / hs), angle =
 * pos · freq).
 */
export function ropeTable(hs: number, theta: number, positions: number): RopeTable {
  const key = `${hs} ${theta} ${positions}`;
  let table = ropeTables.get(key);
  if (!table) {
    const half = hs / 2;
    const cos = new Float32Array(positions * half);
    const sin = new Float32Array(positions * half);
    for (let p = 0; p < positions; p++) {
      for (let i = 0; i < half; i++) {
        const freq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / hs)));
        const angle = Math.fround(p * freq);
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
    table = { cos, sin, positions, hs };
    ropeTables.set(key, table);
  }
  return table;
}

/**
 * x (n·T, H·hs), token-major, as heads (n, H, T, hs) rotated by position (positions pos0 … pos0 +
 * T − 1): each pair (x₂ᵢ, x₂ᵢ₊₁) becomes (x₀c − x₁s, x₁c + x₀s).
 */
export function rotateToHeads(
  x: tf.Tensor2D,
  n: number,
  T: number,
  H: number,
  table: RopeTable,
  pos0 = 0,
): tf.Tensor4D {
  const hs = table.hs;
  const addon = nativeKernels();
  if (!addon) return portableRotate(x, n, T, H, table, pos0);
  const forward = (input: tf.Tensor) =>
    onHeap([input], [[n, H, T, hs]], ([xv], [yv]) =>
      addon.rope(xv!, yv!, n, T, H, hs, pos0, table.cos, table.sin, true),
    )[0] as tf.Tensor4D;
  if (!recording()) return forward(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    return {
      value: forward(args[0] as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor4D) =>
        onHeap([dy], [[n * T, H * hs]], ([dyv], [dxv]) =>
          addon.rope(dyv!, dxv!, n, T, H, hs, pos0, table.cos, table.sin, false),
        ),
    };
  });
  return op(x);
}

/** The same rotation as TensorFlow.js operations: x ⊙ cos + (x P) ⊙ sin, P the pair swap (−x₁, x₀). */
function portableRotate(
  x: tf.Tensor2D,
  n: number,
  T: number,
  H: number,
  table: RopeTable,
  pos0: number,
): tf.Tensor4D {
  const { hs } = table;
  const half = hs / 2;
  const cos = new Float32Array(T * hs);
  const sin = new Float32Array(T * hs);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < half; i++) {
      cos[t * hs + 2 * i] = cos[t * hs + 2 * i + 1] = table.cos[(pos0 + t) * half + i]!;
      sin[t * hs + 2 * i] = sin[t * hs + 2 * i + 1] = table.sin[(pos0 + t) * half + i]!;
    }
  const swap = new Float32Array(hs * hs);
  for (let i = 0; i < hs; i += 2) {
    swap[(i + 1) * hs + i] = -1; // out[i] = −x[i+1]
    swap[i * hs + i + 1] = 1; // out[i+1] = x[i]
  }
  const heads = tf.reshape(x, [n, T, H, hs]);
  const swapped = tf.reshape(
    tf.matMul(tf.reshape<tf.Rank.R2>(heads, [-1, hs]), tf.tensor2d(swap, [hs, hs])),
    heads.shape,
  );
  const rotated = tf.add(
    tf.mul(heads, tf.tensor3d(cos, [T, 1, hs])),
    tf.mul(swapped, tf.tensor3d(sin, [T, 1, hs])),
  );
  return tf.transpose<tf.Tensor4D>(rotated as tf.Tensor4D, [0, 2, 1, 3]);
}

/** a · σ(βa) · b element-wise (the gated MLP's hidden activation; β = 1: SwiGLU). */
export function swiglu<T extends tf.Tensor>(a: T, b: T, beta: number): T {
  const addon = nativeKernels();
  if (!addon) return tf.mul(tf.mul(a, tf.sigmoid(tf.mul(a, beta))), b);
  const forward = (x: tf.Tensor, y: tf.Tensor) =>
    onHeap([x, y], [x.shape], ([av, bv], [ov]) => addon.swiglu(av!, bv!, beta, ov!))[0] as T;
  if (!recording()) return forward(a, b);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [T, T, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: forward(x, y),
      gradFunc: (dy: T, saved: tf.Tensor[]) =>
        onHeap([dy, saved[0]!, saved[1]!], [x.shape, x.shape], ([dyv, av, bv], [dav, dbv]) =>
          addon.swigluGrad(dyv!, av!, bv!, beta, dav!, dbv!),
        ),
    };
  });
  return op(a, b);
}

/**
 * Attention probabilities from raw scores s (n, H, Tq, Tk): softmax(scale · s) over the keys each
 * query sees, query i sitting at position Tk − Tq + i and seeing keys at positions ≤ its own.
 */
export function causalSoftmax(scores: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [n, H, Tq, Tk] = scores.shape;
  const addon = nativeKernels();
  if (!addon) {
    const mask = new Float32Array(Tq * Tk);
    for (let i = 0; i < Tq; i++) for (let j = Tk - Tq + i + 1; j < Tk; j++) mask[i * Tk + j] = -1e9;
    return tf.softmax(tf.add<tf.Tensor4D>(tf.mul(scores, scale), tf.tensor2d(mask, [Tq, Tk])));
  }
  const rows = n * H * Tq;
  const forward = (x: tf.Tensor) =>
    onHeap([x], [scores.shape], ([xv], [pv]) =>
      addon.causalSoftmax(xv!, rows, Tq, Tk, scale, pv!),
    )[0] as tf.Tensor4D;
  if (!recording()) return forward(scores);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const p = forward(x);
    save([p]);
    return {
      value: p,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) =>
        onHeap([dy, saved[0]!], [scores.shape], ([dyv, pv], [dxv]) =>
          addon.causalSoftmaxGrad(dyv!, pv!, rows, Tq, Tk, scale, dxv!),
        ),
    };
  });
  return op(scores);
}
