/**
 * TensorFlow.js matmul kernels (BatchMatMul, _FusedMatMul) computed by OpenBLAS sgemm, for the
 * wasm backend, and a zero-copy Identity. Tensors on that backend live in the WebAssembly heap; the kernels
 * hand views of
 * the heap straight to sgemm, so nothing is copied. Gradients need nothing extra: TensorFlow.js
 * defines them with matMul, which dispatches back here.
 *
 * Pinned to the TensorFlow.js version they are tested with: kernel signatures are internal API.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.ts';

export const TESTED_TFJS_VERSION = '4.22.0';
const KERNELS = [tf.BatchMatMul, tf._FusedMatMul, tf.Identity] as const;
const BACKEND = 'wasm';

const stock = new Map<string, tf.KernelConfig>();
let enabled = false;

/** Switches the wasm backend's matmul kernels between native (true) and stock (false). */
export function useNativeMatMul(addon: NativeAddon | null): void {
  if (addon && tf.version.tfjs !== TESTED_TFJS_VERSION) {
    throw new Error(
      `native kernels are tested with TensorFlow.js ${TESTED_TFJS_VERSION}, ` +
        `found ${tf.version.tfjs}; run the native tests, then update TESTED_TFJS_VERSION`,
    );
  }
  for (const name of KERNELS) if (!stock.has(name)) stock.set(name, tf.getKernel(name, BACKEND));
  for (const name of KERNELS) tf.unregisterKernel(name, BACKEND);
  if (addon) {
    tf.registerKernel({
      kernelName: tf.BatchMatMul,
      backendName: BACKEND,
      kernelFunc: (args) => batchMatMul(addon, args),
    });
    tf.registerKernel({
      kernelName: tf._FusedMatMul,
      backendName: BACKEND,
      kernelFunc: (args) => fusedMatMul(addon, args),
    });
    tf.registerKernel({ kernelName: tf.Identity, backendName: BACKEND, kernelFunc: sharedIdentity });
  } else {
    for (const name of KERNELS) tf.registerKernel(stock.get(name)!);
  }
  enabled = addon !== null;
}

export function nativeMatMulEnabled(): boolean {
  return enabled;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Identity (tf.clone, and the engine's copies of gradients) as the cpu backend does it: the same
 * data, one more reference, instead of wasm's copy (measured: 150 ms of copies in a stories15M
 * training step). Safe because no kernel writes into its inputs, and the one in-place update
 * (the native AdamW step) runs only on buffers with a single reference.
 */
function sharedIdentity({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function batchMatMul(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  return matMul(addon, backend as BackendWasm, a, b, transposeA, transposeB);
}

/** out[..., m, n] = op(a)[..., m, k] · op(b)[..., k, n], with the batch dimensions broadcast. */
function matMul(
  addon: NativeAddon,
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): tf.TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32')
    throw new Error(`native BatchMatMul supports float32 only, got ${a.dtype} and ${b.dtype}`);
  if (a.shape.length < 2 || b.shape.length < 2)
    throw new Error(`BatchMatMul needs rank ≥ 2, got shapes [${a.shape}] and [${b.shape}]`);
  const [aRows, aCols] = a.shape.slice(-2) as [number, number];
  const [bRows, bCols] = b.shape.slice(-2) as [number, number];
  const m = ta ? aCols : aRows;
  const k = ta ? aRows : aCols;
  const n = tb ? bRows : bCols;
  const kB = tb ? bCols : bRows;
  if (k !== kB) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ` +
        `${a.shape} and ${b.shape} and transposeA=${ta} and transposeB=${tb} must match.`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const out = backend.makeOutput([...batch, m, n], 'float32');
  // Views only after makeOutput: an allocation may grow (and so replace) the heap's buffer.
  const A = backend.typedArrayFromHeap(a) as Float32Array;
  const B = backend.typedArrayFromHeap(b) as Float32Array;
  const C = backend.typedArrayFromHeap(out) as Float32Array;
  const count = batch.reduce((x, y) => x * y, 1);
  const aIndex = broadcastIndexer(aBatch, batch);
  const bIndex = broadcastIndexer(bBatch, batch);
  for (let i = 0; i < count; i++) {
    const ai = aIndex(i) * m * k;
    const bi = bIndex(i) * k * n;
    addon.sgemm(
      ta,
      tb,
      m,
      n,
      k,
      1,
      A.subarray(ai, ai + m * k),
      ta ? m : k,
      B.subarray(bi, bi + k * n),
      tb ? k : n,
      0,
      C.subarray(i * m * n, (i + 1) * m * n),
      n,
    );
  }
  return out;
}

/** Maps a flat index into the broadcast shape `to` to the flat index into `from`. */
function broadcastIndexer(from: number[], to: number[]): (i: number) => number {
  if (from.length === to.length && from.every((d, j) => d === to[j])) return (i) => i;
  const padded = [...new Array<number>(to.length - from.length).fill(1), ...from];
  const fromStrides = padded.map((_, j) => padded.slice(j + 1).reduce((x, y) => x * y, 1));
  const toStrides = to.map((_, j) => to.slice(j + 1).reduce((x, y) => x * y, 1));
  return (i) => {
    let index = 0;
    for (let j = 0; j < to.length; j++) {
      const coordinate = Math.floor(i / toStrides[j]!) % to[j]!;
      if (padded[j] !== 1) index += coordinate * fromStrides[j]!;
    }
    return index;
  };
}

type Activation = 'linear' | 'relu' | 'relu6' | 'prelu' | 'leakyrelu' | 'elu' | 'sigmoid';

/** matMul, then + bias (broadcast), then the activation, as tf.fused.matMul defines them. */
function fusedMatMul(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
    activation: Activation;
    leakyreluAlpha?: number;
  };
  const wasm = backend as BackendWasm;
  const out = matMul(addon, wasm, a, b, transposeA, transposeB);
  const C = wasm.typedArrayFromHeap(out) as Float32Array;
  if (bias) addBroadcast(C, out.shape, wasm.typedArrayFromHeap(bias) as Float32Array, bias.shape);
  const alphas = preluActivationWeights
    ? broadcastValues(
        wasm.typedArrayFromHeap(preluActivationWeights) as Float32Array,
        preluActivationWeights.shape,
        out.shape,
      )
    : null;
  applyActivation(C, activation, leakyreluAlpha ?? 0.2, alphas);
  return out;
}

function addBroadcast(
  target: Float32Array,
  shape: number[],
  values: Float32Array,
  valueShape: number[],
): void {
  const full = broadcastValues(values, valueShape, shape);
  for (let i = 0; i < target.length; i++) target[i]! += full(i);
}

/** values (of valueShape) read at each flat index of the broadcast `shape`. */
function broadcastValues(values: Float32Array, valueShape: number[], shape: number[]): (i: number) => number {
  tf.broadcast_util.assertAndGetBroadcastShape(valueShape, shape);
  if (values.length === 1) return () => values[0]!;
  const lastDim = shape.at(-1)!;
  if (values.length === lastDim && valueShape.at(-1) === lastDim) return (i) => values[i % lastDim]!;
  const index = broadcastIndexer(valueShape, shape);
  return (i) => values[index(i)]!;
}

function applyActivation(
  x: Float32Array,
  activation: Activation,
  leakyAlpha: number,
  alphas: ((i: number) => number) | null,
): void {
  switch (activation) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < x.length; i++) x[i] = Math.max(0, x[i]!);
      return;
    case 'relu6':
      for (let i = 0; i < x.length; i++) x[i] = Math.min(6, Math.max(0, x[i]!));
      return;
    case 'leakyrelu':
      for (let i = 0; i < x.length; i++) if (x[i]! < 0) x[i] = leakyAlpha * x[i]!;
      return;
    case 'prelu':
      for (let i = 0; i < x.length; i++) if (x[i]! < 0) x[i] = alphas!(i) * x[i]!;
      return;
    case 'elu':
      for (let i = 0; i < x.length; i++) if (x[i]! < 0) x[i] = Math.expm1(x[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]!));
      return;
    default:
      throw new Error(`native _FusedMatMul: unknown activation '${String(activation)}'`);
  }
}
