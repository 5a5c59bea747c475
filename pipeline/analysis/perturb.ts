/**
 * A causal check of the eigenvector features (what the paper leaves to future work): move test
 * images a fixed distance ε along a direction in input space and see whether the model's
 * decision changes. If a class's top eigenvectors are what the model uses for that class, moving
 * along them should break that class's predictions and leave the other classes alone, far more
 * than moving the same distance along random directions or along the data's principal directions.
 *
 * Each check takes a set S of k directions in input space and moves every image x a distance ε
 * towards removing its component in span(S): x' = x − ε δ/‖δ‖ with δ the orthogonal projection of
 * x onto span(S). The features Eᵀv of one class are not orthogonal to each other (the v are; E
 * mixes them), so each set is first orthonormalised (QR) and δ = Σ_j (q_j·x) q_j is exact.
 * The same rule applies to every kind of set, so only the directions differ:
 * 1) eigen: the target class's top k positive eigenvectors, as input-space features f = Eᵀv;
 * 2) other class: the top k positive eigenvectors of another class b ≠ a, for every b (the control
 *    for class specificity: features of the model, but not of this class);
 * 3) random: k Gaussian directions (several independent draws per target class);
 * 4) PCA: the top k principal directions of the training images (centred).
 * Intervals are over target classes: a class's draws (random) and other classes are averaged
 * within the class first (analysis/stats.ts, nestedInterval).
 * Perturbed images are not clipped to [0, 1]: that would change their distance from the
 * original. Beyond ε = ‖δ‖ (the image's whole component in the span) the move overshoots.
 *
 * Because h = (W e) ⊙ (V e) is quadratic and u = E δ is linear in the directions, the logits along
 * the line are exact and cheap: with We, Ve per image and W E s, V E s per direction,
 * h(ε) = (We − εWu/‖δ‖) ⊙ (Ve − εVu/‖δ‖), at O(k·m + m·c) per point.
 */
import type { ImageSet } from '../data/dataset.ts';
import type { Eigen } from '../decompose/eigen.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { PipelineError } from '../errors.ts';
import { Rng } from '../util/random.ts';
import { pcaBasis } from '../decompose/truncation.ts';
import { QrDecomposition, Matrix } from 'ml-matrix';
import { nestedInterval, type Interval } from './stats.ts';

export interface PerturbationSettings {
  /** Distances ‖x' − x‖₂ in pixel units (pixels in [0, 1]). */
  epsilons: number[];
  /** Test images per class in the pool (targets for their own class, off-target for others). */
  perClass: number;
  /** Directions per set (k): the top k positive eigenvectors, k random or k principal directions. */
  directions: number;
  /** Independent random sets per target class. */
  randomDraws: number;
  /** Training images used for the principal directions. */
  pcaSample: number;
  seed: number;
}

export const METHODS = ['eigen', 'other-class', 'random', 'pca'] as const;
export type Method = (typeof METHODS)[number];

/** One (target class, direction set) unit's outcome at each ε. */
export interface UnitResult {
  method: Method;
  target: number;
  /** Which draw, for random sets; which other class, for other-class sets (0 otherwise). */
  draw: number;
  /** Share of the target class's images no longer classified as the target, per ε. */
  targetMisclassification: number[];
  /** Share of the other classes' images still classified correctly, per ε. */
  offTargetAccuracy: number[];
}

export interface SummaryRow {
  method: Method;
  epsilon: number;
  targetMisclassification: Interval;
  offTargetAccuracy: Interval;
}

/** The first `perClass` images of each class, in test-set order. */
export function imagePool(test: ImageSet, classes: number, perClass: number): number[] {
  const taken = new Array(classes).fill(0);
  const pool: number[] = [];
  for (let i = 0; i < test.n; i++) {
    const label = test.labels[i]!;
    if (taken[label] < perClass) {
      taken[label]++;
      pool.push(i);
    }
  }
  return pool;
}

function matVec(M: Float64Array, rows: number, cols: number, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += M[r * cols + j]! * x[j]!;
    out[r] = s;
  }
  return out;
}

/** Top principal directions of images (centred covariance), as unit input-space vectors. */
export function principalDirections(images: ImageSet, count: number, sample: number): Float64Array[] {
  const n = Math.min(sample, images.n);
  const rows = pcaBasis(Float64Array.from(images.images.subarray(0, n * images.dim)), n, images.dim, count);
  return Array.from({ length: count }, (_, i) => rows.slice(i * images.dim, (i + 1) * images.dim));
}

export function perturbationCheck(
  layer: BilinearLayer,
  eigs: Eigen[],
  test: ImageSet,
  train: ImageSet,
  s: PerturbationSettings,
): { units: UnitResult[]; summary: SummaryRow[] } {
  if (layer.constant) throw new PipelineError('the perturbation check expects a layer without biases');
  const { d, m, c } = layer;
  const pool = imagePool(test, c, s.perClass).map((i) => {
    const x = test.images.subarray(i * test.dim, (i + 1) * test.dim);
    const e = layer.E ? matVec(layer.E, d, layer.input, x) : Float64Array.from(x);
    return { x, label: test.labels[i]!, We: matVec(layer.W, m, d, e), Ve: matVec(layer.V, m, d, e) };
  });
  const rng = new Rng(s.seed);
  const pca = directionSet(layer, principalDirections(train, s.directions, s.pcaSample));
  const classSets = eigs.map((eig) =>
    directionSet(
      layer,
      positiveEigenvectors(eig, s.directions).map((i) => inputFeature(layer, eigenvector(eig, i))),
    ),
  );
  const units: UnitResult[] = [];
  for (let a = 0; a < c; a++) {
    units.push({
      method: 'eigen',
      target: a,
      draw: 0,
      ...moveTowardRemoval(layer, pool, a, classSets[a]!, s.epsilons),
    });
    for (let b = 0; b < c; b++)
      if (b !== a)
        units.push({
          method: 'other-class',
          target: a,
          draw: b,
          ...moveTowardRemoval(layer, pool, a, classSets[b]!, s.epsilons),
        });
    for (let draw = 0; draw < s.randomDraws; draw++) {
      const random = Array.from({ length: s.directions }, () =>
        Float64Array.from({ length: layer.input }, () => rng.normal()),
      );
      units.push({
        method: 'random',
        target: a,
        draw,
        ...moveTowardRemoval(layer, pool, a, directionSet(layer, random), s.epsilons),
      });
    }
    units.push({ method: 'pca', target: a, draw: 0, ...moveTowardRemoval(layer, pool, a, pca, s.epsilons) });
  }
  return { units, summary: summarise(units, s.epsilons) };
}

function positiveEigenvectors(eig: Eigen, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < eig.n && out.length < count; i++) if (eig.values[i]! > 0) out.push(i);
  return out;
}

interface DirectionSet {
  /** An orthonormal basis q_j of span(S) in input space. */
  dirs: Float64Array[];
  /** W E q_j and V E q_j, (m) each. */
  W: Float64Array[];
  V: Float64Array[];
}

/** An orthonormal basis of the span of `vectors` (QR of the vectors as columns); refuses a degenerate set. */
export function orthonormalBasis(vectors: Float64Array[]): Float64Array[] {
  const dim = vectors[0]!.length;
  const A = new Matrix(dim, vectors.length);
  vectors.forEach((v, j) => v.forEach((x, i) => A.set(i, j, x)));
  const qr = new QrDecomposition(A);
  const R = qr.upperTriangularMatrix;
  const scale = Math.max(...vectors.map((v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))));
  for (let j = 0; j < vectors.length; j++)
    if (!(Math.abs(R.get(j, j)) > 1e-10 * scale))
      throw new PipelineError(
        'cannot perturb along a set of directions that are linearly dependent (or zero)',
      );
  const Q = qr.orthogonalMatrix;
  return vectors.map((_, j) => Float64Array.from({ length: dim }, (_, i) => Q.get(i, j)));
}

function directionSet(layer: BilinearLayer, vectors: Float64Array[]): DirectionSet {
  const { d, m } = layer;
  const dirs = orthonormalBasis(vectors);
  const embedded = dirs.map((s) => (layer.E ? matVec(layer.E, d, layer.input, s) : s));
  return {
    dirs,
    W: embedded.map((u) => matVec(layer.W, m, d, u)),
    V: embedded.map((u) => matVec(layer.V, m, d, u)),
  };
}

function moveTowardRemoval(
  layer: BilinearLayer,
  pool: { x: Float32Array; label: number; We: Float64Array; Ve: Float64Array }[],
  a: number,
  set: DirectionSet,
  epsilons: number[],
) {
  const { m, c } = layer;
  const k = set.dirs.length;
  const targetWrong = new Array(epsilons.length).fill(0);
  const offRight = new Array(epsilons.length).fill(0);
  let nTarget = 0;
  const [Wu, Vu, h] = [new Float64Array(m), new Float64Array(m), new Float64Array(m)];
  for (const img of pool) {
    // δ = Σ_j (q_j · x) q_j (orthonormal q_j, so ‖δ‖² = Σ_j (q_j · x)²); u = E δ / ‖δ‖ enters h through W u
    // and V u.
    const coef = set.dirs.map((s) => s.reduce((acc, sv, p) => acc + sv * img.x[p]!, 0));
    const norm2 = coef.reduce((acc, x) => acc + x * x, 0);
    const scale = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
    Wu.fill(0);
    Vu.fill(0);
    for (let j = 0; j < k; j++) {
      const w = coef[j]! * scale;
      for (let q = 0; q < m; q++) {
        Wu[q]! += w * set.W[j]![q]!;
        Vu[q]! += w * set.V[j]![q]!;
      }
    }
    if (img.label === a) nTarget++;
    epsilons.forEach((eps, e) => {
      for (let q = 0; q < m; q++) h[q] = (img.We[q]! - eps * Wu[q]!) * (img.Ve[q]! - eps * Vu[q]!);
      let best = 0;
      let bestLogit = -Infinity;
      for (let b = 0; b < c; b++) {
        let logit = 0;
        for (let q = 0; q < m; q++) logit += layer.P[b * m + q]! * h[q]!;
        if (logit > bestLogit) {
          bestLogit = logit;
          best = b;
        }
      }
      if (img.label === a && best !== a) targetWrong[e]++;
      if (img.label !== a && best === img.label) offRight[e]++;
    });
  }
  const nOff = pool.length - nTarget;
  return {
    targetMisclassification: targetWrong.map((x) => x / nTarget),
    offTargetAccuracy: offRight.map((x) => x / nOff),
  };
}

/**
 * Per method and ε: intervals over target classes, each class's random draws or other classes averaged first.
 */
function summarise(units: UnitResult[], epsilons: number[]): SummaryRow[] {
  return METHODS.flatMap((method) => {
    const mine = units.filter((u) => u.method === method);
    const targets = [...new Set(mine.map((u) => u.target))];
    const byTarget = (j: number, field: 'targetMisclassification' | 'offTargetAccuracy') =>
      targets.map((t) => mine.filter((u) => u.target === t).map((u) => u[field][j]!));
    return epsilons.map((epsilon, j) => ({
      method,
      epsilon,
      targetMisclassification: nestedInterval(byTarget(j, 'targetMisclassification')),
      offTargetAccuracy: nestedInterval(byTarget(j, 'offTargetAccuracy')),
    }));
  });
}
