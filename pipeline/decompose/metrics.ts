/**
 * Interpretability metrics, each defined once here (and stated on the site's methods page).
 * All are scale-invariant: multiplying a feature or a spectrum by a constant changes nothing.
 */
import { PipelineError } from '../errors.ts';
import { maxWeightMatching } from './matching.ts';

function sumSquares(f: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += f[i]! ** 2;
  return s;
}

function requireNonZero(f: ArrayLike<number>, what: string): number {
  const ss = sumSquares(f);
  if (!(ss > 0)) throw new PipelineError(`${what} of a zero (or non-finite) vector is undefined`);
  return ss;
}

/**
 * Eigenvalue effective rank: (Σ|λ|)² / Σλ². Equals r for r equal-magnitude eigenvalues and 1 for
 * a single one: how many eigenvectors the output really uses.
 */
export function effectiveRank(values: ArrayLike<number>): number {
  let l1 = 0;
  for (let i = 0; i < values.length; i++) l1 += Math.abs(values[i]!);
  return (l1 * l1) / requireNonZero(values, 'effective rank');
}

/**
 * Feature support: (‖f‖₁ / ‖f‖₂)² / dim, the share of the input the feature spreads over:
 * 1/dim for a one-hot feature, 1 for a uniform one.
 */
export function featureSupport(f: ArrayLike<number>): number {
  const ss = requireNonZero(f, 'feature support');
  let l1 = 0;
  for (let i = 0; i < f.length; i++) l1 += Math.abs(f[i]!);
  return (l1 * l1) / ss / f.length;
}

/**
 * The periphery: pixels that are on (> 0) in fewer than `threshold` (default 1%) of the training
 * images. A feature that puts weight there responds to noise the data never shows.
 */
export function peripheryMask(
  images: Float32Array | Float64Array,
  n: number,
  dim: number,
  threshold = 0.01,
): Uint8Array {
  const on = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let p = 0; p < dim; p++) if (images[r * dim + p]! > 0) on[p]!++;
  return Uint8Array.from(on, (count) => (count / n < threshold ? 1 : 0));
}

/** Periphery mass: Σ_{p in periphery} f_p² / Σ_p f_p², in [0, 1]. */
export function peripheryMass(f: ArrayLike<number>, mask: Uint8Array): number {
  if (mask.length !== f.length)
    throw new PipelineError(`periphery mask has ${mask.length} pixels, the feature ${f.length}`);
  const ss = requireNonZero(f, 'periphery mass');
  let s = 0;
  for (let i = 0; i < f.length; i++) if (mask[i]) s += f[i]! ** 2;
  return s / ss;
}

/**
 * Total variation of a feature drawn as a height×width image, per unit norm:
 * Σ over horizontally and vertically adjacent pixel pairs |f_p − f_q|, divided by ‖f‖₂.
 * 0 for a constant image; 4 for a one-hot pixel away from the border; larger for noise.
 */
export function totalVariation(f: ArrayLike<number>, height: number, width: number): number {
  if (f.length !== height * width)
    throw new PipelineError(`feature has ${f.length} values, not ${height}×${width}`);
  const norm = Math.sqrt(requireNonZero(f, 'total variation'));
  let tv = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const here = f[y * width + x]!;
      if (x + 1 < width) tv += Math.abs(here - f[y * width + x + 1]!);
      if (y + 1 < height) tv += Math.abs(here - f[(y + 1) * width + x]!);
    }
  }
  return tv / norm;
}

/**
 * Eigenvectors needed, the one definition every report uses (methods page "Interpretability
 * metrics"): the smallest k whose top-k truncation has test accuracy within `tolerance` (default
 * one percentage point) of the full model's, searched over every k of the curve (k counts
 * eigenvectors from 1); null when no k of the curve gets there. The same rule applied to another
 * method's curve gives that method's "directions needed".
 */
export function eigenvectorsNeeded(
  curve: { k: number; accuracy: number }[],
  fullAccuracy: number,
  tolerance = 0.01,
): number | null {
  const sorted = [...curve].sort((a, b) => a.k - b.k);
  sorted.forEach((point, i) => {
    if (point.k !== i + 1)
      throw new PipelineError(
        `eigenvectors needed is defined on every k from 1, but the curve has k = ` +
          `${sorted.map((p) => p.k).join(', ')}`,
      );
  });
  // 1e-9 of slack so that "exactly one point below" is not lost to rounding in fullAccuracy − tolerance
  for (const point of sorted) if (point.accuracy >= fullAccuracy - tolerance - 1e-9) return point.k;
  return null;
}

/**
 * Similarity of two sets of features (the top-n eigenvectors of the same output in two models,
 * in input space): |cos| between every pair, paired one to one by maximum-weight matching; the
 * mean of the matched |cos|. 1 when the sets span the same directions one to one, whatever their
 * order and signs.
 */
export function matchedSimilarity(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
): { mean: number; matched: number[] } {
  if (a.length !== b.length || a.length === 0)
    throw new PipelineError(
      `similarity needs two equal, non-empty sets of features (got ${a.length} and ${b.length})`,
    );
  const unit = (f: ArrayLike<number>) => {
    const norm = Math.sqrt(requireNonZero(f, 'similarity'));
    return Float64Array.from(f, (x) => x / norm);
  };
  const ua = a.map(unit);
  const ub = b.map(unit);
  const cos = ua.map((x) => ub.map((y) => Math.abs(x.reduce((s, xi, i) => s + xi * y[i]!, 0))));
  const assignment = maxWeightMatching(cos);
  const matched = assignment.map((j, i) => cos[i]![j]!);
  return { mean: matched.reduce((s, x) => s + x, 0) / matched.length, matched };
}

/**
 * Similarity of two runs of the same model: for each output (class), matchedSimilarity of the
 * two runs' features, averaged over outputs. `a[k]` and `b[k]` are output k's features.
 */
export function runSimilarity(a: ArrayLike<number>[][], b: ArrayLike<number>[][]): number {
  if (a.length !== b.length || a.length === 0)
    throw new PipelineError(
      `run similarity needs the same, non-zero number of outputs in both runs ` +
        `(got ${a.length} and ${b.length})`,
    );
  return a.reduce((s, fa, k) => s + matchedSimilarity(fa, b[k]!).mean, 0) / a.length;
}

/**
 * The class-mismatched null of runSimilarity: matchedSimilarity of output a's features in one run
 * with output b's in the other, averaged over every a ≠ b. It keeps everything two trained runs
 * share (the data's statistics, smooth strokes, the same rank) except the output, so the part of
 * runSimilarity above it is what is specific to the output. Symmetric in the two runs.
 */
export function mismatchedSimilarity(a: ArrayLike<number>[][], b: ArrayLike<number>[][]): number {
  if (a.length !== b.length || a.length < 2)
    throw new PipelineError(
      `the class-mismatched null needs the same number (at least 2) of outputs ` +
        `in both runs (got ${a.length} and ${b.length})`,
    );
  let total = 0;
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < b.length; j++) if (i !== j) total += matchedSimilarity(a[i]!, b[j]!).mean;
  return total / (a.length * (a.length - 1));
}

/**
 * Both statistics of one pair of runs at once, for the top r features of each output (all when r
 * is absent): runSimilarity (same output) and mismatchedSimilarity (different outputs). Each
 * feature is normalised once and every |cos| between the two runs' features computed once, so a
 * figure that needs both over many pairs does c²·r² dot products per pair, not c² matchings'
 * worth of renormalising. Equal to the two functions (tested).
 */
export function pairSimilarities(
  a: ArrayLike<number>[][],
  b: ArrayLike<number>[][],
  r?: number,
): { matched: number; mismatched: number } {
  const c = a.length;
  if (b.length !== c || c < 2)
    throw new PipelineError(
      `pair similarities need the same number (at least 2) of outputs in both ` +
        `runs (got ${a.length} and ${b.length})`,
    );
  const top = r ?? a[0]!.length;
  const unitSets = (run: ArrayLike<number>[][]) =>
    run.map((fs) => {
      if (fs.length < top)
        throw new PipelineError(`an output has ${fs.length} features, fewer than the ${top} compared`);
      return fs.slice(0, top).map((f) => {
        const norm = Math.sqrt(requireNonZero(f, 'similarity'));
        return Float64Array.from(f, (x) => x / norm);
      });
    });
  const [ua, ub] = [unitSets(a), unitSets(b)];
  const dot = (x: Float64Array, y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
    return s;
  };
  let matched = 0;
  let mismatched = 0;
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      const cos = ua[i]!.map((x) => ub[j]!.map((y) => Math.abs(dot(x, y))));
      const assignment = maxWeightMatching(cos);
      const value = assignment.reduce((s, col, row) => s + cos[row]![col]!, 0) / top;
      if (i === j) matched += value / c;
      else mismatched += value / (c * (c - 1));
    }
  }
  return { matched, mismatched };
}

/**
 * Cross-seed similarity of runs: matchedSimilarity over every unordered pair of distinct runs
 * (i < j: a run is never paired with itself, which would give a meaningless 1), averaged.
 */
export function crossSeedSimilarity(runs: ArrayLike<number>[][]): {
  mean: number;
  pairs: { i: number; j: number; similarity: number }[];
} {
  if (runs.length < 2)
    throw new PipelineError(`cross-seed similarity needs at least 2 runs, got ${runs.length}`);
  const pairs: { i: number; j: number; similarity: number }[] = [];
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++)
      pairs.push({ i, j, similarity: matchedSimilarity(runs[i]!, runs[j]!).mean });
  }
  return { mean: pairs.reduce((s, p) => s + p.similarity, 0) / pairs.length, pairs };
}
