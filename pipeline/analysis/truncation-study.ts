/**
 * How much of a model its top-k eigenvectors keep, against k random directions and the top-k
 * principal directions of the data (DESIGN.md "The math"; methods page "Truncation and
 * baselines"). For one trained model: the test accuracy, logit R² and relative Frobenius error at
 * every k of a grid, for each method; random bases are drawn `randomDraws` times.
 */
import type { ImageSet } from '../data/dataset.ts';
import type { Eigen } from '../decompose/eigen.ts';
import { interactionMatrix, oneHot, quadraticForm } from '../decompose/interaction.ts';
import { embed, type BilinearLayer } from '../decompose/layer.ts';
import {
  eigenBasis,
  pcaBasis,
  projectedBasis,
  projectedRelativeError,
  randomOrthonormalBasis,
  truncationCurve,
  type QuadraticBasis,
} from '../decompose/truncation.ts';
import { PipelineError } from '../errors.ts';
import { Rng } from '../util/random.ts';

export interface TruncationSettings {
  /** The k grid; every k must be at most the layer's dimension d (checked at plan time). */
  ks: number[];
  randomDraws: number;
  /** Training images whose embeddings give the principal directions. */
  pcaSample: number;
  seed: number;
}

/** One method's scores at each k of the grid. */
export interface MethodCurve {
  accuracy: number[];
  r2: number[];
  /** ‖Q − Q_k‖_F / ‖Q‖_F, averaged over classes. */
  relativeError: number[];
}

export interface TruncationResult {
  ks: number[];
  fullAccuracy: number;
  eigen: MethodCurve;
  /** One curve per random draw. */
  random: MethodCurve[];
  pca: MethodCurve;
}

/** Refuses a grid that cannot be computed, before anything trains. */
export function checkTruncationSettings(s: TruncationSettings, d: number, where: string): void {
  if (s.ks.length === 0) throw new PipelineError(`${where}: the k grid is empty`, { exitCode: 2 });
  const bad = s.ks.find((k) => !Number.isInteger(k) || k < 1 || k > d);
  if (bad !== undefined) throw new PipelineError(`${where}: k = ${bad} is not a whole number in [1, ${d}] (the layer's dimension d = ${d})`, { exitCode: 2 });
  if (!Number.isInteger(s.randomDraws) || s.randomDraws < 1) throw new PipelineError(`${where}: randomDraws must be at least 1, got ${s.randomDraws}`, { exitCode: 2 });
}

function embedAll(layer: BilinearLayer, set: ImageSet, limit: number): { embedded: Float64Array; n: number } {
  const n = Math.min(limit, set.n);
  const embedded = new Float64Array(n * layer.d);
  for (let r = 0; r < n; r++) embedded.set(embed(layer, set.images.subarray(r * set.dim, (r + 1) * set.dim)), r * layer.d);
  return { embedded, n };
}

/**
 * The model evaluated exactly on a set: each class's interaction matrix, the embedded inputs, the
 * full logits (n, c) as quadratic forms in float64, and the accuracy they give.
 */
export function exactModel(layer: BilinearLayer, set: ImageSet): { qs: Float64Array[]; embedded: Float64Array; full: Float64Array; labels: Uint8Array; accuracy: number } {
  const { c, d } = layer;
  const qs = Array.from({ length: c }, (_, a) => interactionMatrix(layer, oneHot(c, a)));
  const { embedded, n } = embedAll(layer, set, set.n);
  const full = new Float64Array(n * c);
  for (let r = 0; r < n; r++) for (let a = 0; a < c; a++) full[r * c + a] = quadraticForm(qs[a]!, embedded.subarray(r * d, (r + 1) * d));
  const labels = set.labels.subarray(0, n);
  let correct = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let a = 1; a < c; a++) if (full[r * c + a]! > full[r * c + best]!) best = a;
    if (best === labels[r]) correct++;
  }
  return { qs, embedded, full, labels, accuracy: correct / n };
}

export function truncationStudy(layer: BilinearLayer, eigs: Eigen[], data: { train: ImageSet; test: ImageSet }, s: TruncationSettings): TruncationResult {
  checkTruncationSettings(s, layer.d, 'truncation study');
  const K = Math.max(...s.ks);
  const { c, d } = layer;
  const { qs, embedded, full, labels, accuracy } = exactModel(layer, data.test);
  const score = (bases: QuadraticBasis[]): MethodCurve => {
    const curve = truncationCurve(bases, embedded, full, labels);
    return {
      accuracy: s.ks.map((k) => curve[k - 1]!.accuracy),
      r2: s.ks.map((k) => curve[k - 1]!.r2),
      relativeError: s.ks.map((k) => bases.reduce((sum, b, a) => sum + projectedRelativeError(qs[a]!, b, k), 0) / c),
    };
  };
  const rng = new Rng(s.seed);
  const train = embedAll(layer, data.train, s.pcaSample);
  const pca = pcaBasis(train.embedded, train.n, d, K);
  return {
    ks: s.ks,
    fullAccuracy: accuracy,
    eigen: score(eigs.map((eig) => eigenBasis(eig, K))),
    random: Array.from({ length: s.randomDraws }, () => score(qs.map((q) => projectedBasis(q, d, randomOrthonormalBasis(d, K, rng))))),
    pca: score(qs.map((q) => projectedBasis(q, d, pca))),
  };
}
