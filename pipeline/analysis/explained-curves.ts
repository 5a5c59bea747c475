/**
 * How much of an output direction's MLP activation the top-k directions explain (the later paper's
 * Fig. 9, with baselines). For u and the MLP input x at a held-out position, the truth is
 * y = uᵀ MLP(x) = xᵀ Q_u x; a basis R (K orthonormal rows, nested) with M = R Q_u Rᵀ (for the
 * eigenvectors, M = diag(λ)) gives at every k ≤ K
 *
 *   f_k(x) = (R_k x)ᵀ M_k (R_k x) = f_{k−1}(x) + M_kk z_k² + 2 z_k Σ_{j<k} M_kj z_j,   z = R x,
 *
 * and each k is scored over positions by the Pearson correlation of f_k with y, and by
 * R² = 1 − Σ (y − f_k)² / Σ (y − ȳ)² (no refit: f_k must match y itself, not a rescaling).
 */
import { PipelineError } from '../errors.ts';
import type { QuadraticBasis } from '../decompose/truncation.ts';
import { matmul64 } from '../native/matmul64.ts';

/**
 * f_k(x) for every position (rows of X, (N, d)) and k = 1 … K, as (N, K), with two matrix
 * products: Z = X Rᵀ and C = Z Lᵀ, L the strictly lower triangle of M (C[n, k] = Σ_{j<k} M_kj z_j).
 */
export function prefixForms(qb: QuadraticBasis, X: Float64Array, N: number): Float64Array {
  const { k: K, d, basis, M } = qb;
  if (X.length !== N * d) throw new PipelineError(`prefixForms: X has ${X.length} values for (${N}, ${d})`);
  // (N, K)
  const Z = matmul64({ data: X, rows: N, cols: d }, { data: basis, rows: K, cols: d, transpose: true });
  const lower = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) lower[i * K + j] = M[i * K + j]!;
  // (N, K)
  const C = matmul64({ data: Z, rows: N, cols: K }, { data: lower, rows: K, cols: K, transpose: true });
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    let total = 0;
    for (let k = 0; k < K; k++) {
      const z = Z[n * K + k]!;
      total += M[k * K + k]! * z * z + 2 * z * C[n * K + k]!;
      out[n * K + k] = total;
    }
  }
  return out;
}

/**
 * Pearson correlation of column k of F (N, K) with y over the positions in `rows` (NaN when either is
 * constant).
 */
export function columnCorrelation(
  F: Float64Array,
  K: number,
  k: number,
  y: Float64Array,
  rows: ArrayLike<number>,
): number {
  const n = rows.length;
  let mf = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mf += F[rows[i]! * K + k]!;
    my += y[rows[i]!]!;
  }
  mf /= n;
  my /= n;
  let sfy = 0;
  let sff = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = F[rows[i]! * K + k]! - mf;
    const b = y[rows[i]!]! - my;
    sfy += a * b;
    sff += a * a;
    syy += b * b;
  }
  return sff > 0 && syy > 0 ? sfy / Math.sqrt(sff * syy) : Number.NaN;
}

/** R² of column k of F as a prediction of y, over `rows`, without refitting. */
export function columnRSquared(
  F: Float64Array,
  K: number,
  k: number,
  y: Float64Array,
  rows: ArrayLike<number>,
): number {
  const n = rows.length;
  let my = 0;
  for (let i = 0; i < n; i++) my += y[rows[i]!]!;
  my /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    res += (y[r]! - F[r * K + k]!) ** 2;
    tot += (y[r]! - my) ** 2;
  }
  return tot > 0 ? 1 - res / tot : Number.NaN;
}

/** How many of N positions are the top `share`: at least one. */
export function topCount(N: number, share: number): number {
  return Math.max(1, Math.ceil(share * N));
}

/** The positions where y is in its top `share` (ties broken by position). */
export function topPositions(y: Float64Array, share: number): Int32Array {
  const count = topCount(y.length, share);
  const order = Array.from(y.keys()).sort((a, b) => y[b]! - y[a]! || a - b);
  return Int32Array.from(order.slice(0, count).sort((a, b) => a - b));
}

export interface CurvePoint {
  k: number;
  correlation: number;
  rSquared: number;
  /** The correlation over the positions where y is in its top share (the direction's large activations). */
  correlationTop: number;
}

/** The curve of one basis: every k of F scored against y, over all positions and over `top`. */
export function curveOf(F: Float64Array, K: number, y: Float64Array, top: ArrayLike<number>): CurvePoint[] {
  const all = Int32Array.from(y.keys());
  return Array.from({ length: K }, (_, k) => ({
    k: k + 1,
    correlation: columnCorrelation(F, K, k, y, all),
    rSquared: columnRSquared(F, K, k, y, all),
    correlationTop: columnCorrelation(F, K, k, y, top),
  }));
}
