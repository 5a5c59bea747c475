/**
 * How much of a model its top-k eigenvectors keep, against baselines with the same budget
 * (DESIGN.md "The math"; methods page "Truncation and baselines"). For one trained model: the test
 * accuracy, logit R² and relative Frobenius error at every k = 1 … maxK, for
 * - the top-k eigenvectors of each class's Q (k directions per class, c·k in all);
 * - k random orthonormal directions per class, drawn `randomDraws` times;
 * - each class's own top-k principal directions (class-conditional: c·k in all);
 * - one principal basis shared by all classes with the same total budget, min(c·k, d) directions.
 * Principal directions are uncentred (see decompose/truncation.ts, pcaBasis).
 */
import type { ImageSet } from '../data/dataset.ts';
import type { Eigen } from '../decompose/eigen.ts';
import { interactionMatrix, oneHot } from '../decompose/interaction.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
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
import { matmul64 } from '../native/matmul64.ts';
import { Rng } from '../util/random.ts';

export interface TruncationSettings {
  /** Curves are computed at every k from 1 to maxK, which must be at most the layer's dimension d. */
  maxK: number;
  randomDraws: number;
  /**
   * The first this many training images give the principal directions (each class's own, and the shared
   * ones).
   */
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
  /** 1 … maxK: every k, so that "eigenvectors needed" is found on every k (decompose/metrics.ts). */
  ks: number[];
  fullAccuracy: number;
  eigen: MethodCurve;
  /** One curve per random draw. */
  random: MethodCurve[];
  /** Each class's own top-k principal directions. */
  pcaClass: MethodCurve;
  /** The top min(c·k, d) principal directions of all the data, shared by every class. */
  pcaShared: MethodCurve;
  /** Directions the shared basis has at each k: min(c·k, d). */
  sharedDirections: number[];
}

/** Refuses a grid that cannot be computed, before anything trains. */
export function checkTruncationSettings(s: TruncationSettings, d: number, where: string): void {
  if (!Number.isInteger(s.maxK) || s.maxK < 1 || s.maxK > d)
    throw new PipelineError(
      `${where}: maxK = ${s.maxK} is not a whole number in [1, ${d}] (the layer's dimension d = ${d})`,
      { exitCode: 2 },
    );
  if (!Number.isInteger(s.randomDraws) || s.randomDraws < 1)
    throw new PipelineError(`${where}: randomDraws must be at least 1, got ${s.randomDraws}`, {
      exitCode: 2,
    });
}

/** The first `limit` inputs of a set, embedded: (n, d) = X Eᵀ in float64 (with the folded constant). */
export function embedAll(
  layer: BilinearLayer,
  set: ImageSet,
  limit: number,
): { embedded: Float64Array; n: number } {
  const n = Math.min(limit, set.n);
  if (set.dim !== layer.input)
    throw new PipelineError(`inputs have ${set.dim} values, the layer expects ${layer.input}`);
  const cols = layer.input + (layer.constant ? 1 : 0);
  const X = new Float64Array(n * cols);
  for (let r = 0; r < n; r++) {
    for (let p = 0; p < set.dim; p++) X[r * cols + p] = set.images[r * set.dim + p]!;
    if (layer.constant) X[r * cols + set.dim] = 1;
  }
  if (!layer.E) return { embedded: X, n };
  return {
    embedded: matmul64({ data: X, rows: n, cols }, { data: layer.E, rows: layer.d, cols, transpose: true }),
    n,
  };
}

/** eᵀ Q e for every row e of embedded (n, d): the rows of (E Q) ⊙ E summed. */
export function quadraticForms(q: Float64Array, embedded: Float64Array, n: number, d: number): Float64Array {
  const EQ = matmul64({ data: embedded, rows: n, cols: d }, { data: q, rows: d, cols: d });
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += EQ[r * d + j]! * embedded[r * d + j]!;
    out[r] = s;
  }
  return out;
}

/**
 * The model evaluated exactly on a set: each class's interaction matrix, the embedded inputs, the
 * full logits (n, c) as quadratic forms in float64, and the accuracy they give.
 */
export function exactModel(
  layer: BilinearLayer,
  set: ImageSet,
): { qs: Float64Array[]; embedded: Float64Array; full: Float64Array; labels: Uint8Array; accuracy: number } {
  const { c, d } = layer;
  const qs = Array.from({ length: c }, (_, a) => interactionMatrix(layer, oneHot(c, a)));
  const { embedded, n } = embedAll(layer, set, set.n);
  const full = new Float64Array(n * c);
  qs.forEach((q, a) => quadraticForms(q, embedded, n, d).forEach((v, r) => (full[r * c + a] = v)));
  const labels = set.labels.subarray(0, n);
  let correct = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let a = 1; a < c; a++) if (full[r * c + a]! > full[r * c + best]!) best = a;
    if (best === labels[r]) correct++;
  }
  return { qs, embedded, full, labels, accuracy: correct / n };
}

export function truncationStudy(
  layer: BilinearLayer,
  eigs: Eigen[],
  data: { train: ImageSet; test: ImageSet },
  s: TruncationSettings,
): TruncationResult {
  checkTruncationSettings(s, layer.d, 'truncation study');
  const K = s.maxK;
  const { c, d } = layer;
  const ks = Array.from({ length: K }, (_, i) => i + 1);
  const { qs, embedded, full, labels, accuracy } = exactModel(layer, data.test);
  /** A method's scores at each k, reading its bases at `rows(k)` basis rows. */
  const score = (bases: QuadraticBasis[], rows = (k: number) => k): MethodCurve => {
    const sizes = [...new Set(ks.map(rows))];
    const curve = truncationCurve(bases, embedded, full, labels, sizes);
    const at = (k: number) => curve[sizes.indexOf(rows(k))]!;
    return {
      accuracy: ks.map((k) => at(k).accuracy),
      r2: ks.map((k) => at(k).r2),
      relativeError: ks.map(
        (k) => bases.reduce((sum, b, a) => sum + projectedRelativeError(qs[a]!, b, rows(k)), 0) / c,
      ),
    };
  };
  const rng = new Rng(s.seed);
  const train = embedAll(layer, data.train, s.pcaSample);
  const shared = (k: number) => Math.min(c * k, d);
  const sharedBasis = pcaBasis(train.embedded, train.n, d, shared(K), { centred: false });
  return {
    ks,
    fullAccuracy: accuracy,
    eigen: score(eigs.map((eig) => eigenBasis(eig, K))),
    random: Array.from({ length: s.randomDraws }, () =>
      score(qs.map((q) => projectedBasis(q, d, randomOrthonormalBasis(d, K, rng)))),
    ),
    pcaClass: score(
      qs.map((q, a) => projectedBasis(q, d, classPrincipalBasis(train, data.train.labels, a, d, K))),
    ),
    pcaShared: score(
      qs.map((q) => projectedBasis(q, d, sharedBasis)),
      shared,
    ),
    sharedDirections: ks.map(shared),
  };
}

/** The top-k uncentred principal directions of class a's embedded training inputs (among the first n). */
function classPrincipalBasis(
  train: { embedded: Float64Array; n: number },
  labels: ArrayLike<number>,
  a: number,
  d: number,
  k: number,
): Float64Array {
  const rows: number[] = [];
  for (let r = 0; r < train.n; r++) if (labels[r] === a) rows.push(r);
  if (rows.length < 2)
    throw new PipelineError(
      `class-conditional PCA: class ${a} has ${rows.length} of the first ` +
        `${train.n} training images; raise pcaSample`,
    );
  const mine = new Float64Array(rows.length * d);
  rows.forEach((r, i) => mine.set(train.embedded.subarray(r * d, (r + 1) * d), i * d));
  return pcaBasis(mine, rows.length, d, k, { centred: false });
}
