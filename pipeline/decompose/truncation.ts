/**
 * Low-rank views of one output's quadratic form, and the baselines they are compared with
 * (DESIGN.md "The math"). Each is a basis R (k orthonormal rows in embedding space) and a k×k
 * matrix M, read as
 *
 *   logit_R(e) = (R e)ᵀ M (R e),   Q_R = Rᵀ M R,
 *
 * 1) eigen truncation: R = the top-k eigenvectors of Q by |λ|, M = diag(λ_1 … λ_k), so
 *    logit_k = Σ_{i≤k} λ_i (v_i·e)²;
 * 2) random projection: R from the QR decomposition of a Gaussian d×k matrix, M = R Q Rᵀ;
 * 3) data PCA: R = the top-k principal directions of the embedded training inputs (those of the
 *    output's own class, or one basis shared by all outputs), M = R Q Rᵀ.
 *
 * Bases are nested (the first k rows of a K-row basis are the k-row basis), so one pass gives the
 * value at every k ≤ K: logit_k = logit_{k−1} + M_kk z_k² + 2 z_k Σ_{j<k} M_kj z_j, z = R e.
 * At k = d every method reproduces Q exactly (tested).
 */
import { Matrix, QrDecomposition } from 'ml-matrix';
import { PipelineError } from '../errors.ts';
import { matmul64 } from '../native/matmul64.ts';
import type { Rng } from '../util/random.ts';
import { symmetricEigen, type Eigen } from './eigen.ts';

export interface QuadraticBasis {
  /** Number of basis rows K. */
  k: number;
  d: number;
  /** (K, d), orthonormal rows. */
  basis: Float64Array;
  /** (K, K), symmetric. */
  M: Float64Array;
}

function checkK(k: number, d: number, what: string): void {
  if (!Number.isInteger(k) || k < 1 || k > d)
    throw new PipelineError(
      `${what}: k = ${k} must be a whole number in [1, ${d}] (the layer's dimension d)`,
    );
}

/** The top-k eigenvectors of Q and their eigenvalues. */
export function eigenBasis(eig: Eigen, k: number): QuadraticBasis {
  checkK(k, eig.n, 'eigen truncation');
  const M = new Float64Array(k * k);
  for (let i = 0; i < k; i++) M[i * k + i] = eig.values[i]!;
  return { k, d: eig.n, basis: eig.vectors.slice(0, k * eig.n), M };
}

/** Q restricted to the span of `basis` (K×d orthonormal rows): M = R Q Rᵀ. */
export function projectedBasis(q: Float64Array, d: number, basis: Float64Array): QuadraticBasis {
  const k = basis.length / d;
  checkK(k, d, 'projection');
  const RQ = matmul64({ data: basis, rows: k, cols: d }, { data: q, rows: d, cols: d }); // (k, d)
  // (k, k)
  const M = matmul64({ data: RQ, rows: k, cols: d }, { data: basis, rows: k, cols: d, transpose: true });
  // exactly symmetric, as Q is
  for (let i = 0; i < k; i++)
    for (let j = 0; j < i; j++) M[i * k + j] = M[j * k + i] = (M[i * k + j]! + M[j * k + i]!) / 2;
  return { k, d, basis, M };
}

/**
 * k orthonormal rows drawn uniformly (Haar): the Q factor of a Gaussian d×k matrix, with the
 * signs fixed by R's diagonal (without that fix the draw is not uniform).
 */
export function randomOrthonormalBasis(d: number, k: number, rng: Rng): Float64Array {
  checkK(k, d, 'random projection');
  const gaussian = new Matrix(d, k);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) gaussian.set(i, j, rng.normal());
  const qr = new QrDecomposition(gaussian);
  const Q = qr.orthogonalMatrix; // (d, k)
  const R = qr.upperTriangularMatrix;
  const out = new Float64Array(k * d);
  for (let j = 0; j < k; j++) {
    const sign = R.get(j, j) < 0 ? -1 : 1;
    for (let i = 0; i < d; i++) out[j * d + i] = sign * Q.get(i, j);
  }
  return out;
}

/**
 * The top-k principal directions of embedded inputs (n, d), in the canonical sign of eigen.ts:
 * eigenvectors of their covariance (centred on the mean), or with `centred: false` of their
 * second moment (1/n) Σ e eᵀ, i.e. the top right singular vectors of the data matrix, the k
 * directions that reconstruct the inputs best in mean square. A quadratic form also sees the
 * inputs' mean, so the truncation baselines use the uncentred form.
 */
export function pcaBasis(
  embedded: Float64Array,
  n: number,
  d: number,
  k: number,
  options: { centred?: boolean } = {},
): Float64Array {
  checkK(k, d, 'PCA baseline');
  if (n < 2) throw new PipelineError(`PCA needs at least 2 inputs, got ${n}`);
  const centred = options.centred ?? true;
  const mean = new Float64Array(d);
  if (centred) for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j]! += embedded[r * d + j]! / n;
  const X = centred ? embedded.map((x, i) => x - mean[i % d]!) : embedded;
  // Xᵀ X, (d, d)
  const cov = matmul64({ data: X, rows: n, cols: d, transpose: true }, { data: X, rows: n, cols: d });
  const scale = centred ? n - 1 : n;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      // exactly symmetric, as the eigensolver expects
      const v = (cov[i * d + j]! + cov[j * d + i]!) / (2 * scale);
      cov[i * d + j] = cov[j * d + i] = v;
    }
  }
  return symmetricEigen(cov, d).vectors.slice(0, k * d);
}

/** logit_k(e) for k = 1 … K at once (nested bases). */
export function cumulativeForms(qb: QuadraticBasis, e: ArrayLike<number>): Float64Array {
  const { k: K, d, basis, M } = qb;
  if (e.length !== d) throw new PipelineError(`input e has length ${e.length}, the basis lives in d = ${d}`);
  const z = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += basis[i * d + j]! * e[j]!;
    z[i] = s;
  }
  const out = new Float64Array(K);
  let total = 0;
  for (let i = 0; i < K; i++) {
    let cross = 0;
    for (let j = 0; j < i; j++) cross += M[i * K + j]! * z[j]!;
    total += M[i * K + i]! * z[i]! * z[i]! + 2 * z[i]! * cross;
    out[i] = total;
  }
  return out;
}

/** Q_k = R_kᵀ M_k R_k, the d×d matrix of the first k rows of the basis. */
export function lowRankMatrix(qb: QuadraticBasis, k: number): Float64Array {
  checkK(k, qb.k, 'low-rank matrix');
  const { d, basis, M, k: K } = qb;
  const MR = new Float64Array(k * d); // (k, d) = M_k R_k
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const mij = M[i * K + j]!;
      if (mij === 0) continue;
      for (let t = 0; t < d; t++) MR[i * d + t]! += mij * basis[j * d + t]!;
    }
  const out = new Float64Array(d * d);
  for (let i = 0; i < k; i++)
    for (let s = 0; s < d; s++) {
      const r = basis[i * d + s]!;
      if (r === 0) continue;
      for (let t = 0; t < d; t++) out[s * d + t]! += r * MR[i * d + t]!;
    }
  return out;
}

/**
 * ‖Q − Q_k‖_F / ‖Q‖_F without forming Q_k, for a basis whose M is Q projected onto it (all three
 * methods: for eigenvectors M = diag(λ) = R Q Rᵀ too). With orthonormal rows R_k, Q_k = R_kᵀ M_k R_k
 * is the orthogonal projection of Q onto the span's matrices, so ‖Q − Q_k‖² = ‖Q‖² − ‖M_k‖²,
 * with M_k the top-left k×k block of M: O(k²) instead of O(k d²). Equal to
 * relativeFrobeniusError(q, lowRankMatrix(qb, k)) (tested); near zero its absolute precision is
 * about 1e-8, the square root of float64 rounding.
 */
export function projectedRelativeError(q: Float64Array, qb: QuadraticBasis, k: number): number {
  checkK(k, qb.k, 'relative error');
  let total = 0;
  for (let i = 0; i < q.length; i++) total += q[i]! ** 2;
  if (total === 0) throw new PipelineError('relative error of a zero matrix is undefined');
  let kept = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) kept += qb.M[i * qb.k + j]! ** 2;
  return Math.sqrt(Math.max(0, 1 - kept / total));
}

/** ‖Q − Q_k‖_F / ‖Q‖_F. */
export function relativeFrobeniusError(q: Float64Array, approx: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < q.length; i++) {
    num += (q[i]! - approx[i]!) ** 2;
    den += q[i]! ** 2;
  }
  if (den === 0) throw new PipelineError('relative error of a zero matrix is undefined');
  return Math.sqrt(num / den);
}

export interface TruncationPoint {
  k: number;
  /** Share of inputs whose argmax over the truncated logits is the label. */
  accuracy: number;
  /**
   * 1 − SS_res/SS_tot of the truncated logits against the full ones, pooled over inputs and
   * outputs, with SS_tot taken around each output's own mean.
   */
  r2: number;
}

/**
 * The truncated logits of every input at the basis sizes `at` (ascending, each ≤ K), as (n, |at|):
 * with Z = E Rᵀ (n, K) and Y = Z Lᵀ for L the strictly lower triangle of M, the k-th increment of
 * cumulativeForms is M_kk z_k² + 2 z_k y_k. Two float64 matrix products instead of n passes.
 */
export function truncatedLogits(
  qb: QuadraticBasis,
  embedded: Float64Array,
  n: number,
  at: number[],
): Float64Array {
  const { k: K, d, basis, M } = qb;
  const Z = matmul64(
    { data: embedded, rows: n, cols: d },
    { data: basis, rows: K, cols: d, transpose: true },
  ); // (n, K)
  const lower = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) lower[i * K + j] = M[i * K + j]!;
  // (n, K)
  const Y = matmul64({ data: Z, rows: n, cols: K }, { data: lower, rows: K, cols: K, transpose: true });
  const out = new Float64Array(n * at.length);
  for (let r = 0; r < n; r++) {
    let total = 0;
    let next = 0;
    for (let i = 0; i < K && next < at.length; i++) {
      const z = Z[r * K + i]!;
      total += M[i * K + i]! * z * z + 2 * z * Y[r * K + i]!;
      if (i + 1 === at[next]) out[r * at.length + next++] = total;
    }
  }
  return out;
}

/**
 * Accuracy and logit R² at every k ≤ K (or at the basis sizes `at`, ascending), given one basis per
 * output (class), the full logits (n, c) and the embedded inputs (n, d).
 */
export function truncationCurve(
  bases: QuadraticBasis[],
  embedded: Float64Array,
  fullLogits: Float64Array,
  labels: ArrayLike<number>,
  at?: number[],
): TruncationPoint[] {
  const c = bases.length;
  const { d } = bases[0]!;
  const K = Math.min(...bases.map((b) => b.k));
  const n = labels.length;
  if (fullLogits.length !== n * c || embedded.length !== n * d) {
    throw new PipelineError(
      `truncation: ${n} labels, but logits hold ${fullLogits.length} (expected ` +
        `${n}×${c}) and inputs ${embedded.length} (expected ${n}×${d})`,
    );
  }
  const ks = at ?? Array.from({ length: K }, (_, i) => i + 1);
  ks.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 1 || k > K || (i > 0 && k <= ks[i - 1]!))
      throw new PipelineError(`truncation: basis sizes must ascend within [1, ${K}], got ${ks.join(', ')}`);
  });
  const truncated = bases.map((b) => truncatedLogits(b, embedded, n, ks)); // [c] (n, |ks|)
  const width = ks.length;
  const means = Array.from(
    { length: c },
    (_, a) => Array.from({ length: n }, (_, r) => fullLogits[r * c + a]!).reduce((s, x) => s + x, 0) / n,
  );
  let ssTot = 0;
  for (let r = 0; r < n; r++) for (let a = 0; a < c; a++) ssTot += (fullLogits[r * c + a]! - means[a]!) ** 2;
  return ks.map((k, i) => {
    let correct = 0;
    let ssRes = 0;
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let a = 0; a < c; a++) {
        const value = truncated[a]![r * width + i]!;
        ssRes += (value - fullLogits[r * c + a]!) ** 2;
        if (value > truncated[best]![r * width + i]!) best = a;
      }
      if (best === labels[r]) correct++;
    }
    return { k, accuracy: correct / n, r2: ssTot > 0 ? 1 - ssRes / ssTot : Number.NaN };
  });
}
