/**
 * Interaction matrices (paper §3.1). The layer's third-order tensor is
 *
 *   B[a, i, j] = Σ_k P[a, k] W[k, i] V[k, j],   symmetrised: B[a] ← (B[a] + B[a]ᵀ) / 2,
 *
 * and for an output direction u (a class one-hot, a logit difference, any vector of length c)
 *
 *   Q_u = Σ_a u_a B[a] = sym( Wᵀ diag(Pᵀ u) V ),   so that   uᵀ out(x) = eᵀ Q_u e.
 *
 * Only the symmetric part of B[a] contributes to eᵀ B[a] e, which is why symmetrising loses
 * nothing and makes the eigendecomposition real. With folded biases (layer.ts), e ends in the
 * constant 1, and the output bias enters as Q_u[d−1, d−1] += u·b_P, so the identity still holds.
 */
import { PipelineError } from '../errors.ts';
import { matmul64 } from '../native/matmul64.ts';
import type { BilinearLayer } from './layer.ts';

/** Q_u as a dense, exactly symmetric d×d row-major matrix. */
export function interactionMatrix(layer: BilinearLayer, u: ArrayLike<number>): Float64Array {
  const { d, m, c } = layer;
  if (u.length !== c)
    throw new PipelineError(`output direction u has length ${u.length}, the layer has c = ${c} outputs`);
  const coef = new Float64Array(m); // Pᵀ u, (m)
  for (let a = 0; a < c; a++) {
    const ua = u[a]!;
    if (ua === 0) continue;
    for (let k = 0; k < m; k++) coef[k]! += ua * layer.P[a * m + k]!;
  }
  // Wᵀ diag(coef) V as one float64 product (diag(coef) W)ᵀ · V, then symmetrised
  const scaledW = new Float64Array(m * d);
  for (let k = 0; k < m; k++) for (let i = 0; i < d; i++) scaledW[k * d + i] = coef[k]! * layer.W[k * d + i]!;
  const q = matmul64(
    { data: scaledW, rows: m, cols: d, transpose: true },
    { data: layer.V, rows: m, cols: d },
  );
  if (layer.outBias) {
    let ub = 0;
    for (let a = 0; a < c; a++) ub += u[a]! * layer.outBias[a]!;
    q[d * d - 1]! += ub;
  }
  return symmetrize(q, d);
}

/** (A + Aᵀ)/2 in place; the result is symmetric to the bit. */
export function symmetrize(a: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const mean = (a[i * n + j]! + a[j * n + i]!) / 2;
      a[i * n + j] = mean;
      a[j * n + i] = mean;
    }
  }
  return a;
}

/** The one-hot direction of output `a` (class a's logit). */
export function oneHot(c: number, a: number): Float64Array {
  const u = new Float64Array(c);
  u[a] = 1;
  return u;
}

/** The symmetrised tensor B, (c, d, d): one interaction matrix per output. */
export function interactionTensor(layer: BilinearLayer): Float64Array[] {
  return Array.from({ length: layer.c }, (_, a) => interactionMatrix(layer, oneHot(layer.c, a)));
}

/** eᵀ Q e for a symmetric d×d Q. */
export function quadraticForm(q: Float64Array, e: ArrayLike<number>): number {
  const d = e.length;
  let s = 0;
  for (let i = 0; i < d; i++) {
    let row = 0;
    for (let j = 0; j < d; j++) row += q[i * d + j]! * e[j]!;
    s += e[i]! * row;
  }
  return s;
}
