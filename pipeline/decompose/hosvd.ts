/**
 * Features shared across outputs (paper §3.3, "HOSVD"): flatten the symmetrised tensor B (c, d, d)
 * to a c × d² matrix and take its SVD, B_flat = Σ_t σ_t u_t r_tᵀ. Each right singular vector r_t,
 * reshaped to d×d, is symmetric (a combination of the symmetric B[a]) and is eigendecomposed like
 * any interaction matrix; u_t says how much each output uses component t.
 *
 * With c ≪ d², the SVD comes from the c×c Gram matrix G = B_flat B_flatᵀ: G = U Σ² Uᵀ, and
 * r_t = B_flatᵀ u_t / σ_t. Components with σ_t ≤ 1e-12 · σ_1 are dropped (rank deficiency).
 */
import { symmetricEigen } from './eigen.ts';

export interface Hosvd {
  d: number;
  /** σ_t, descending. */
  singularValues: Float64Array;
  /** (c, r): column t is u_t, the outputs' weights on component t. */
  outputWeights: Float64Array;
  /** r_t reshaped to d×d, symmetric, unit Frobenius norm. */
  components: Float64Array[];
}

export function hosvd(B: Float64Array[], d: number): Hosvd {
  const c = B.length;
  const gram = new Float64Array(c * c);
  for (let a = 0; a < c; a++) {
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let i = 0; i < d * d; i++) s += B[a]![i]! * B[b]![i]!;
      gram[a * c + b] = gram[b * c + a] = s;
    }
  }
  const eig = symmetricEigen(gram, c); // eigenvalues σ² ≥ 0, so |λ| order is σ order
  const sigmaMax = Math.sqrt(Math.max(eig.values[0]!, 0));
  const singularValues: number[] = [];
  const components: Float64Array[] = [];
  const weights: number[][] = [];
  for (let t = 0; t < c; t++) {
    const sigma = Math.sqrt(Math.max(eig.values[t]!, 0));
    if (!(sigma > 1e-12 * sigmaMax)) break;
    const u = eig.vectors.subarray(t * c, (t + 1) * c);
    const r = new Float64Array(d * d);
    for (let a = 0; a < c; a++) {
      const w = u[a]! / sigma;
      if (w === 0) continue;
      for (let i = 0; i < d * d; i++) r[i]! += w * B[a]![i]!;
    }
    singularValues.push(sigma);
    components.push(r);
    weights.push(Array.from(u));
  }
  const rank = singularValues.length;
  const outputWeights = new Float64Array(c * rank);
  for (let a = 0; a < c; a++) for (let t = 0; t < rank; t++) outputWeights[a * rank + t] = weights[t]![a]!;
  return { d, singularValues: Float64Array.from(singularValues), outputWeights, components };
}

/** B[a] rebuilt from the decomposition: Σ_t σ_t u_t[a] r_t. */
export function reconstructOutput(h: Hosvd, a: number): Float64Array {
  const rank = h.singularValues.length;
  const out = new Float64Array(h.d * h.d);
  for (let t = 0; t < rank; t++) {
    const w = h.singularValues[t]! * h.outputWeights[a * rank + t]!;
    for (let i = 0; i < out.length; i++) out[i]! += w * h.components[t]![i]!;
  }
  return out;
}
