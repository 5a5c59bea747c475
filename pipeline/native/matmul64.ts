/**
 * Float64 matrix products for the exact analyses (truncation, PCA, quadratic forms): OpenBLAS
 * dgemm when the native addon is loaded (not with BILINEAR_NO_NATIVE=1), else a plain loop. Both
 * are float64 throughout and differ only in summation order (last bits); which one ran is in
 * every analysis's key through its model's, whose training records the backend. Measured in
 * `npm run bench`.
 */
import { PipelineError } from '../errors.ts';
import { loadNative } from './addon.ts';

export interface Operand {
  /** Row-major values. */
  data: Float64Array;
  rows: number;
  cols: number;
  /** Use the transpose (rows × cols as stored, cols × rows as used). */
  transpose?: boolean;
}

/** op(A) · op(B), row-major (op(A).rows × op(B).cols). */
export function matmul64(a: Operand, b: Operand): Float64Array {
  return product(a, b, true);
}

/** The same without the addon (the path of a machine without OpenBLAS; tested against dgemm). */
export function portableMatmul64(a: Operand, b: Operand): Float64Array {
  return product(a, b, false);
}

function product(a: Operand, b: Operand, native: boolean): Float64Array {
  const [m, k] = a.transpose ? [a.cols, a.rows] : [a.rows, a.cols];
  const [k2, n] = b.transpose ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== k2) throw new PipelineError(`matmul64: inner dimensions differ (${m}×${k} · ${k2}×${n})`);
  if (a.data.length !== a.rows * a.cols || b.data.length !== b.rows * b.cols)
    throw new PipelineError(`matmul64: an operand's data does not hold rows × cols values`);
  const out = new Float64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return out;
  const addon = native ? loadNative() : null;
  if (addon) {
    addon.dgemm(!!a.transpose, !!b.transpose, m, n, k, 1, a.data, a.cols, b.data, b.cols, 0, out, n);
    return out;
  }
  return portable(a, b, m, k, n, out);
}

/** The loop order that reads both operands contiguously when neither is transposed. */
function portable(a: Operand, b: Operand, m: number, k: number, n: number, out: Float64Array): Float64Array {
  const A = (i: number, t: number) => (a.transpose ? a.data[t * a.cols + i]! : a.data[i * a.cols + t]!);
  const B = b.transpose
    ? (t: number, j: number) => b.data[j * b.cols + t]!
    : (t: number, j: number) => b.data[t * b.cols + j]!;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let t = 0; t < k; t++) {
      const x = A(i, t);
      if (x === 0) continue;
      if (!b.transpose) {
        const base = t * b.cols;
        for (let j = 0; j < n; j++) out[row + j]! += x * b.data[base + j]!;
      } else {
        for (let j = 0; j < n; j++) out[row + j]! += x * B(t, j);
      }
    }
  }
  return out;
}
