/**
 * The native addon (native/bilinear_native.c): OpenBLAS sgemm and dgemm, LAPACKE syevd, a fused AdamW
 * update, a fused softmax cross-entropy and an embedding gradient's scatter; and (native/llama_kernels.c)
 * a Llama block's element-wise work, cached attention and token sampling. Optional: where it was not built
 * (no compiler, no OpenBLAS), or when
 * BILINEAR_NO_NATIVE=1, loadNative() returns null and callers take the portable path.
 * @code-depends ../../native/bilinear_native.c
 * @code-depends ../../native/llama_kernels.c
 * @code-depends ../../native/napi_args.h
 * @code-depends ../../native/fast_exp.h
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface BlasInfo {
  config: string;
  corename: string;
  threads: number;
}

export interface NativeAddon {
  /** C ← alpha·op(A)·op(B) + beta·C, row-major; op(A): m×k, op(B): k×n. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** The same in float64 (the exact analyses). */
  dgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    lda: number,
    b: Float64Array,
    ldb: number,
    beta: number,
    c: Float64Array,
    ldc: number,
  ): void;
  /** Symmetric eigendecomposition in place: w ← ascending eigenvalues, row j of a (n×n) ← eigenvector j. */
  syevd(a: Float64Array, n: number, w: Float64Array): void;
  syevd(a: Float32Array, n: number, w: Float32Array): void;
  /** One AdamW step in place, bit-identical to pipeline/train/adamw.ts's TensorFlow.js ops. */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    weightDecay: number,
    c1: number,
    c2: number,
  ): void;
  /**
   * Softmax cross-entropy per row of logits (rows × cols) against target indices: loss[r], and,
   * unless grad is empty, grad ← scale · (softmax − one-hot).
   */
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    scale: number,
    loss: Float32Array,
    grad: Float32Array,
  ): void;
  /** out (table rows × cols) ← 0, then out[ids[r]] += rows[r]: an embedding lookup's gradient. */
  scatterRows(out: Float32Array, rows: Float32Array, ids: Int32Array, cols: number): void;
  /** out ← n draws from N(0, std²): the stream of `new Rng(seed).normalArray(n, std)` (see noise.ts). */
  normals(out: Float32Array, seed: number, std: number): void;
  /** out ← gain ⊙ x · inv per row (x: rows × d; gain empty: 1), inv[r] ← 1/√(mean(x[r]²) + eps). */
  rmsNorm(
    x: Float32Array,
    gain: Float32Array,
    rows: number,
    d: number,
    eps: number,
    out: Float32Array,
    inv: Float32Array,
  ): void;
  /** rmsNorm's gradient: dx, and dgain (written; unused when gain is empty). */
  rmsNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gain: Float32Array,
    inv: Float32Array,
    rows: number,
    d: number,
    dx: Float32Array,
    dgain: Float32Array,
  ): void;
  /**
   * Rotary positions: forward, (n, T, heads, hs) → (n, heads, T, hs) rotated by the angles of
   * positions pos0 …; backward, the gradient's way back. cos, sin: (positions, hs/2).
   */
  rope(
    input: Float32Array,
    output: Float32Array,
    n: number,
    T: number,
    heads: number,
    hs: number,
    pos0: number,
    cos: Float32Array,
    sin: Float32Array,
    forward: boolean,
  ): void;
  /** out ← a · σ(βa) · b element-wise. */
  swiglu(a: Float32Array, b: Float32Array, beta: number, out: Float32Array): void;
  /** swiglu's gradient: da, db. */
  swigluGrad(
    dy: Float32Array,
    a: Float32Array,
    b: Float32Array,
    beta: number,
    da: Float32Array,
    db: Float32Array,
  ): void;
  /** p ← softmax(scale · x) per row of Tk under the causal mask (row r: query r mod Tq, at position Tk − Tq + r mod Tq). */
  causalSoftmax(x: Float32Array, rows: number, Tq: number, Tk: number, scale: number, p: Float32Array): void;
  /** causalSoftmax's gradient: dx ← scale · p ⊙ (dy − Σ dy ⊙ p) per row. */
  causalSoftmaxGrad(
    dy: Float32Array,
    p: Float32Array,
    rows: number,
    Tq: number,
    Tk: number,
    scale: number,
    dx: Float32Array,
  ): void;
  /**
   * One new position `pos` per sequence: q, k rotated, k and v written into cache slot slots[r]
   * (per slot `context` positions, a multiple of 8: keys (context/8, kvHeads, hs, 8), values
   * (context, kvHeads, hs); models/kv-cache.ts), out (n, heads·hs) ← attention over positions 0 … pos.
   */
  attendCached(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    kCache: Float32Array,
    vCache: Float32Array,
    slots: Int32Array,
    n: number,
    heads: number,
    kvHeads: number,
    context: number,
    hs: number,
    pos: number,
    cos: Float32Array,
    sin: Float32Array,
    out: Float32Array,
  ): void;
  /**
   * A token per row of scores (rows × vocab): with topP 0 the argmax of logits, else a nucleus draw
   * at uniforms[r] from probabilities (llama-generate.ts's nucleusDraw).
   */
  sampleRows(
    scores: Float32Array,
    rows: number,
    vocab: number,
    topP: number,
    uniforms: Float64Array,
    out: Int32Array,
  ): void;
  /** A zeroed Float32Array of `length`, in 2 MiB pages where it spans one and the kernel allows. */
  hugeFloat32Array(length: number): Float32Array;
  info(): BlasInfo;
  setThreads(n: number): void;
}

const ADDON_PATH = new URL('../../native/build/bilinear_native.node', import.meta.url).pathname;
const require = createRequire(import.meta.url);

let loaded: { addon: NativeAddon | null; reason: string } | undefined;

/** The addon, or null (see nativeUnavailableReason()). */
export function loadNative(): NativeAddon | null {
  if (!loaded) {
    loaded = tryLoad();
    loaded.addon?.setThreads(blasThreads());
  }
  return loaded.addon;
}

/**
 * OpenBLAS threads per process: 1 unless BILINEAR_BLAS_THREADS says otherwise. Parallelism comes
 * from running independent jobs on worker threads (--workers); BLAS threads on top of them would
 * oversubscribe the cores (measured: 2 workers × 2 BLAS threads on 2 cores made a d = 100 training
 * step 3× slower than 2 workers × 1). The count is part of every key, since results differ in the
 * last bits between thread counts.
 */
export function blasThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['BILINEAR_BLAS_THREADS'];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BILINEAR_BLAS_THREADS must be a whole number ≥ 1, got '${raw}'`);
  return n;
}

export function nativeUnavailableReason(): string {
  loadNative();
  return loaded!.reason;
}

function tryLoad(): { addon: NativeAddon | null; reason: string } {
  if (process.env['BILINEAR_NO_NATIVE'] === '1')
    return { addon: null, reason: 'disabled by BILINEAR_NO_NATIVE=1' };
  if (!existsSync(ADDON_PATH)) {
    return {
      addon: null,
      reason: 'the native addon is not built (needs libopenblas-dev and liblapacke-dev; then npm run native)',
    };
  }
  try {
    return { addon: require(ADDON_PATH) as NativeAddon, reason: '' };
  } catch (error) {
    return {
      addon: null,
      reason: `the native addon failed to load: ${(error as Error).message.split('\n')[0]}`,
    };
  }
}

/** "OpenBLAS 0.3.21 (Haswell, 2 threads)": what provenance records of the BLAS in use. */
export function describeBlas(info: BlasInfo): string {
  const version = /OpenBLAS\s+([\d.]+)/.exec(info.config)?.[1] ?? '?';
  return `OpenBLAS ${version} (${info.corename}, ${info.threads} thread${info.threads === 1 ? '' : 's'})`;
}
