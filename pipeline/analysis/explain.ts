/**
 * Per-input explanations: a logit split into the contributions of the class's eigenvectors,
 *
 *   logit_a(x) = Σ_i λ_i (v_i · e)²,   e = E x,
 *
 * exact, with no approximation: the contributions of all d eigenvectors add up to the logit
 * (tested). An explanation lists the top classes and, for each, the eigenvectors that contribute
 * most (by |λ_i (v_i·e)²|) and the sum of all the others.
 */
import type { Eigen } from '../decompose/eigen.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { embed } from '../decompose/layer.ts';

export interface Contribution {
  /** 1-based position in the class's |λ| order. */
  index: number;
  eigenvalue: number;
  projection: number; // v_i · e
  contribution: number; // λ_i (v_i · e)²
}

export interface ClassExplanation {
  class: number;
  logit: number;
  top: Contribution[];
  /** Σ of every other eigenvector's contribution. */
  rest: number;
}

/** All d contributions to class a's logit, in the class's eigenvector order. */
export function contributions(eig: Eigen, e: Float64Array): Contribution[] {
  return Array.from({ length: eig.n }, (_, i) => {
    let projection = 0;
    for (let j = 0; j < eig.n; j++) projection += eig.vectors[i * eig.n + j]! * e[j]!;
    return {
      index: i + 1,
      eigenvalue: eig.values[i]!,
      projection,
      contribution: eig.values[i]! * projection * projection,
    };
  });
}

export function explain(
  layer: BilinearLayer,
  eigs: Eigen[],
  x: ArrayLike<number>,
  topClasses: number,
  topFeatures: number,
): { logits: number[]; classes: ClassExplanation[] } {
  const e = embed(layer, x);
  const all = eigs.map((eig) => contributions(eig, e));
  const logits = all.map((cs) => cs.reduce((s, c) => s + c.contribution, 0));
  const order = logits.map((l, a) => ({ l, a })).sort((p, q) => q.l - p.l || p.a - q.a);
  const classes = order.slice(0, topClasses).map(({ a, l }) => {
    const sorted = [...all[a]!].sort(
      (p, q) => Math.abs(q.contribution) - Math.abs(p.contribution) || p.index - q.index,
    );
    const top = sorted.slice(0, topFeatures);
    return { class: a, logit: l, top, rest: l - top.reduce((s, c) => s + c.contribution, 0) };
  });
  return { logits, classes };
}
