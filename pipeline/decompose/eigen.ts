/**
 * The canonical eigendecomposition of a symmetric matrix, Q = Σ_i λ_i v_i v_iᵀ, the form every
 * later stage sees:
 *
 * 1) Q is symmetrised explicitly and handed to a symmetric solver: LAPACK's dsyevd through the
 *    native addon when it is built, else ml-matrix (told `assumeSymmetric`: it compares symmetry
 *    exactly and would otherwise take its slower non-symmetric path). Both give the same
 *    canonical output to within rounding (tested).
 * 2) Order: by |λ| descending (the solver returns ascending λ; the paper's reference code mixed
 *    the two up). Ties in |λ|: positive λ first, then the solver's order.
 * 3) Sign: each v_i is flipped so that its component of largest magnitude is positive (on ties,
 *    the lowest index). λ_i v_i v_iᵀ does not depend on the sign, so this only fixes the picture.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { loadNative } from '../native/addon.ts';
import { symmetrize } from './interaction.ts';

export type EigenSolver = 'lapack' | 'ml-matrix';

/** LAPACK when the native addon is available, else ml-matrix. */
export function defaultSolver(): EigenSolver {
  return loadNative() ? 'lapack' : 'ml-matrix';
}

export interface Eigen {
  n: number;
  /** λ_i, ordered by |λ| descending. */
  values: Float64Array;
  /** Row i is v_i (unit norm), so vectors is (n, n) row-major. */
  vectors: Float64Array;
}

export function symmetricEigen(q: Float64Array, n: number, solver: EigenSolver = defaultSolver()): Eigen {
  if (q.length !== n * n) throw new Error(`matrix holds ${q.length} values, expected ${n}×${n}`);
  const sym = symmetrize(Float64Array.from(q), n);
  const { lambda, column } = solver === 'lapack' ? solveLapack(sym, n) : solveMlMatrix(sym, n);
  // column(i) returns the eigenvector of lambda[i]
  const order = Array.from(lambda, (value, index) => ({ value, index })).sort(
    (a, b) => Math.abs(b.value) - Math.abs(a.value) || b.value - a.value || a.index - b.index,
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach(({ value, index }, rank) => {
    values[rank] = value;
    const v = column(index);
    const sign = signOfLargest(v);
    for (let j = 0; j < n; j++) vectors[rank * n + j] = sign * v[j]!;
  });
  return { n, values, vectors };
}

/** Raw solver output: eigenvalues in any order, and the eigenvector of eigenvalue i. */
interface RawEigen {
  lambda: ArrayLike<number>;
  column: (i: number) => ArrayLike<number>;
}

function solveLapack(sym: Float64Array, n: number): RawEigen {
  const native = loadNative();
  if (!native) throw new Error('the LAPACK solver needs the native addon, which is not available');
  const a = sym; // a fresh copy already (symmetricEigen's), overwritten in place
  const w = new Float64Array(n);
  native.syevd(a, n, w); // row j of a is the eigenvector of w[j]
  return { lambda: w, column: (j) => a.subarray(j * n, (j + 1) * n) };
}

function solveMlMatrix(sym: Float64Array, n: number): RawEigen {
  const rows = Array.from({ length: n }, (_, i) => Array.from(sym.subarray(i * n, (i + 1) * n)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const columns = evd.eigenvectorMatrix; // column i is the eigenvector of realEigenvalues[i]
  return { lambda: evd.realEigenvalues, column: (i) => columns.getColumn(i) };
}

/** +1 or −1: the sign of the component with the largest magnitude (first on ties). */
export function signOfLargest(v: ArrayLike<number>): 1 | -1 {
  let best = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]!) > Math.abs(v[best]!)) best = j;
  return v[best]! < 0 ? -1 : 1;
}

/** Eigenvector i as its own array. */
export function eigenvector(eig: Eigen, i: number): Float64Array {
  return eig.vectors.slice(i * eig.n, (i + 1) * eig.n);
}
