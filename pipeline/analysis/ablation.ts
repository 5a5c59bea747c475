/**
 * The interpretability scores of one trained model, for the regularization ablations: every
 * metric of decompose/metrics.ts computed the same way for every run, so cells of the grid can be
 * compared. Cross-seed similarity needs two runs; it is computed from the features kept here
 * (analysis/ablation-study.ts, studyPoints).
 */
import { stratifiedSample, type ImageSet } from '../data/dataset.ts';
import { eigenvector, type Eigen } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import {
  effectiveRank,
  featureSupport,
  eigenvectorsNeeded,
  peripheryMask,
  peripheryMass,
  totalVariation,
} from '../decompose/metrics.ts';
import { eigenBasis, truncationCurve } from '../decompose/truncation.ts';
import { PipelineError } from '../errors.ts';
import { exactModel } from './truncation-study.ts';
import { mean } from './stats.ts';

export interface AblationSettings {
  /** Eigenvectors per class (the top ones by |λ|) scored by the feature metrics and compared across seeds. */
  topFeatures: number;
  /** The largest k tried for "eigenvectors needed" (capped at d). */
  maxK: number;
  /** Features are drawn as height × width images (total variation). */
  height: number;
  width: number;
  /**
   * Validation images that accuracy and "eigenvectors needed" are measured on: a seeded,
   * class-stratified sample of this many (absent: the whole validation split). The scores choose
   * settings, so they never read the test split; the feature metrics need no data.
   */
  validationSample?: number;
}

/** One run's scores; the feature metrics are means over classes and their top features. */
export interface RunScores {
  /** Validation accuracy of the layer evaluated exactly (float64 quadratic forms). */
  accuracy: number;
  effectiveRank: number;
  featureSupport: number;
  peripheryMass: number;
  totalVariation: number;
  /** null when even k = maxK is more than one point below the full model. */
  eigenvectorsNeeded: number | null;
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
  accuracy: { label: 'validation accuracy', better: 'higher' },
  effectiveRank: { label: 'eigenvalue effective rank', better: 'lower' },
  featureSupport: { label: 'feature support', better: 'lower' },
  peripheryMass: { label: 'periphery mass', better: 'lower' },
  totalVariation: { label: 'total variation', better: 'lower' },
  eigenvectorsNeeded: { label: 'eigenvectors needed', better: 'lower' },
  crossSeedSimilarity: { label: 'cross-seed similarity', better: 'higher' },
  crossSeedNull: { label: 'cross-seed similarity, different classes (null)', better: 'lower' },
  crossSeedGain: { label: 'cross-seed similarity above the null', better: 'higher' },
} as const;

/** Metrics that exist only per cell, from its seed pairs (cross-seed similarity also has a per-run mean). */
export const CELL_ONLY_METRICS: readonly MetricName[] = ['crossSeedNull', 'crossSeedGain'];

export type MetricName = keyof typeof METRICS;

export function checkAblationSettings(s: AblationSettings, where: string): void {
  for (const field of ['topFeatures', 'maxK', 'height', 'width'] as const) {
    if (!Number.isInteger(s[field]) || s[field] < 1)
      throw new PipelineError(`${where}: ${field} must be a whole number ≥ 1, got ${s[field]}`, {
        exitCode: 2,
      });
  }
}

export function analyseRun(
  layer: BilinearLayer,
  eigs: Eigen[],
  data: { train: ImageSet; validation: ImageSet },
  s: AblationSettings,
): RunAnalysis {
  checkAblationSettings(s, 'ablation metrics');
  const { c, d } = layer;
  if (eigs.length !== c)
    throw new PipelineError(`ablation metrics: ${eigs.length} eigendecompositions for ${c} classes`);
  if (layer.input !== s.height * s.width)
    throw new PipelineError(
      `ablation metrics: inputs of ${layer.input} values cannot be drawn as ${s.height}×${s.width} images`,
    );
  const top = Math.min(s.topFeatures, d);
  const features = eigs.map((eig) =>
    Array.from({ length: top }, (_, i) => inputFeature(layer, eigenvector(eig, i))),
  );
  const topPositive = eigs.map((eig) => {
    const i = Array.from(eig.values).findIndex((v) => v > 0);
    if (i < 0)
      throw new PipelineError(
        'ablation metrics: a class has no positive eigenvalue (its logit can only decrease)',
      );
    return { feature: inputFeature(layer, eigenvector(eig, i)), eigenvalue: eig.values[i]! };
  });
  const mask = peripheryMask(data.train.images, data.train.n, data.train.dim);
  const all = features.flat();
  const sample = stratifiedSample(data.validation, s.validationSample, 1);
  const { accuracy, k } = accuracyAndK(layer, eigs, sample, Math.min(s.maxK, d));
  return {
    scores: {
      accuracy,
      effectiveRank: mean(eigs.map((eig) => effectiveRank(eig.values))),
      featureSupport: mean(all.map((f) => featureSupport(f))),
      peripheryMass: mean(all.map((f) => peripheryMass(f, mask))),
      totalVariation: mean(all.map((f) => totalVariation(f, s.height, s.width))),
      eigenvectorsNeeded: k,
    },
    features,
    topPositive,
  };
}

/** The exact accuracy on a set, and the eigenvectors needed to keep it within one point. */
function accuracyAndK(
  layer: BilinearLayer,
  eigs: Eigen[],
  set: ImageSet,
  K: number,
): { accuracy: number; k: number | null } {
  const { embedded, full, labels, accuracy } = exactModel(layer, set);
  const curve = truncationCurve(
    eigs.map((eig) => eigenBasis(eig, K)),
    embedded,
    full,
    labels,
  );
  return { accuracy, k: eigenvectorsNeeded(curve, accuracy) };
}
