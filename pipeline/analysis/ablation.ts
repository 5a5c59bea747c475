/**
 * The interpretability scores of one trained model, for the regularization ablations: every
 * metric of decompose/metrics.ts computed the same way for every run, so cells of the grid can be
 * compared. Cross-seed similarity needs two runs; it is computed from the features kept here
 * (`cellSimilarity`).
 */
import type { ImageSet } from '../data/dataset.ts';
import { eigenvector, type Eigen } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import { interactionMatrix, oneHot, quadraticForm } from '../decompose/interaction.ts';
import { embed, type BilinearLayer } from '../decompose/layer.ts';
import { crossSeedSimilarity, effectiveRank, featureSupport, kWithinOnePoint, peripheryMask, peripheryMass, totalVariation } from '../decompose/metrics.ts';
import { eigenBasis, truncationCurve } from '../decompose/truncation.ts';
import { PipelineError } from '../errors.ts';

export interface AblationSettings {
  /** Eigenvectors per class (the top ones by |λ|) scored by the feature metrics and compared across seeds. */
  topFeatures: number;
  /** The largest k tried for "k within one point" (capped at d). */
  maxK: number;
  /** Features are drawn as height × width images (total variation). */
  height: number;
  width: number;
}

/** One run's scores; the feature metrics are means over classes and their top features. */
export interface RunScores {
  /** Test accuracy of the layer evaluated exactly (float64 quadratic forms). */
  accuracy: number;
  effectiveRank: number;
  featureSupport: number;
  peripheryMass: number;
  totalVariation: number;
  /** null when even k = maxK is more than one point below the full model. */
  kWithinOnePoint: number | null;
}

export interface RunAnalysis {
  scores: RunScores;
  /** [class][rank] the top-`topFeatures` eigenvectors by |λ|, in input space. */
  features: Float64Array[][];
  /** [class] the eigenvector with the largest positive eigenvalue, in input space, and its λ. */
  topPositive: { feature: Float64Array; eigenvalue: number }[];
}

/** The metrics' names as the report, its figures and its data files spell them. */
export const METRICS = {
  accuracy: { label: 'test accuracy', better: 'higher' },
  effectiveRank: { label: 'eigenvalue effective rank', better: 'lower' },
  featureSupport: { label: 'feature support', better: 'lower' },
  peripheryMass: { label: 'periphery mass', better: 'lower' },
  totalVariation: { label: 'total variation', better: 'lower' },
  kWithinOnePoint: { label: 'k within one point', better: 'lower' },
  crossSeedSimilarity: { label: 'cross-seed similarity', better: 'higher' },
} as const;

export type MetricName = keyof typeof METRICS;

export function checkAblationSettings(s: AblationSettings, where: string): void {
  for (const field of ['topFeatures', 'maxK', 'height', 'width'] as const) {
    if (!Number.isInteger(s[field]) || s[field] < 1) throw new PipelineError(`${where}: ${field} must be a whole number ≥ 1, got ${s[field]}`, { exitCode: 2 });
  }
}

function mean(values: number[]): number {
  return values.reduce((s, x) => s + x, 0) / values.length;
}

export function analyseRun(layer: BilinearLayer, eigs: Eigen[], data: { train: ImageSet; test: ImageSet }, s: AblationSettings): RunAnalysis {
  checkAblationSettings(s, 'ablation metrics');
  const { c, d } = layer;
  if (eigs.length !== c) throw new PipelineError(`ablation metrics: ${eigs.length} eigendecompositions for ${c} classes`);
  if (layer.input !== s.height * s.width) throw new PipelineError(`ablation metrics: inputs of ${layer.input} values cannot be drawn as ${s.height}×${s.width} images`);
  const top = Math.min(s.topFeatures, d);
  const features = eigs.map((eig) => Array.from({ length: top }, (_, i) => inputFeature(layer, eigenvector(eig, i))));
  const topPositive = eigs.map((eig) => {
    const i = Array.from(eig.values).findIndex((v) => v > 0);
    if (i < 0) throw new PipelineError('ablation metrics: a class has no positive eigenvalue (its logit can only decrease)');
    return { feature: inputFeature(layer, eigenvector(eig, i)), eigenvalue: eig.values[i]! };
  });
  const mask = peripheryMask(data.train.images, data.train.n, data.train.dim);
  const all = features.flat();
  const { accuracy, k } = accuracyAndK(layer, eigs, data.test, Math.min(s.maxK, d));
  return {
    scores: {
      accuracy,
      effectiveRank: mean(eigs.map((eig) => effectiveRank(eig.values))),
      featureSupport: mean(all.map((f) => featureSupport(f))),
      peripheryMass: mean(all.map((f) => peripheryMass(f, mask))),
      totalVariation: mean(all.map((f) => totalVariation(f, s.height, s.width))),
      kWithinOnePoint: k,
    },
    features,
    topPositive,
  };
}

/** The exact test accuracy, and the smallest k whose top-k truncation keeps it within one point. */
function accuracyAndK(layer: BilinearLayer, eigs: Eigen[], test: ImageSet, K: number): { accuracy: number; k: number | null } {
  const { c, d } = layer;
  const n = test.n;
  const qs = Array.from({ length: c }, (_, a) => interactionMatrix(layer, oneHot(c, a)));
  const embedded = new Float64Array(n * d);
  for (let r = 0; r < n; r++) embedded.set(embed(layer, test.images.subarray(r * test.dim, (r + 1) * test.dim)), r * d);
  const full = new Float64Array(n * c);
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const e = embedded.subarray(r * d, (r + 1) * d);
    let best = 0;
    for (let a = 0; a < c; a++) {
      full[r * c + a] = quadraticForm(qs[a]!, e);
      if (full[r * c + a]! > full[r * c + best]!) best = a;
    }
    if (best === test.labels[r]) correct++;
  }
  const accuracy = correct / n;
  const curve = truncationCurve(eigs.map((eig) => eigenBasis(eig, K)), embedded, full, test.labels.subarray(0, n));
  return { accuracy, k: kWithinOnePoint(curve, accuracy) };
}

/**
 * Cross-seed similarity of a cell: for each class, the matched |cos| of its top features between
 * every pair of distinct runs, averaged over pairs and classes.
 */
export function cellSimilarity(runs: Float64Array[][][]): number {
  if (runs.length < 2) throw new PipelineError(`cross-seed similarity needs at least 2 seeds per cell, got ${runs.length}`);
  const classes = runs[0]!.length;
  return mean(Array.from({ length: classes }, (_, a) => crossSeedSimilarity(runs.map((features) => features[a]!)).mean));
}
