/**
 * How much of each chosen output direction's MLP activation its top-k eigenvectors explain, beside
 * k random orthonormal directions and the top-k principal directions of the MLP's inputs (one
 * cached job). For every direction u of the readings (the same rule, output-tokens.ts), over the
 * MLP inputs x at held-out positions, and every k from 1 to K = min(maxK, d):
 *
 *   eigen:   Σ_{i≤k} λ_i (v_i·x)²                 (eigenvectors of Q_u by |λ|)
 *   random:  (R_k x)ᵀ (R_k Q_u R_kᵀ)(R_k x)        (R Haar-random, `draws` per direction)
 *   PCA:     the same with R = the top-k principal directions of the MLP inputs at training
 *            positions (uncentred: the directions that reconstruct the inputs best, as in the
 *            image baselines)
 *
 * scored against y = xᵀ Q_u x = uᵀ MLP(x) (explained-curves.ts), over all positions and over the
 * positions where y is in its top share.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { asVocabularyWindows, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { defaultSolver, symmetricEigen, type EigenSolver } from '../decompose/eigen.ts';
import { interactionMatrix } from '../decompose/interaction.ts';
import { layerOf } from '../decompose/job.ts';
import { eigenBasis, pcaBasis, projectedBasis, randomOrthonormalBasis } from '../decompose/truncation.ts';
import type { ModelMeta } from '../train/job.ts';
import { sha256 } from '../util/hash.ts';
import { Rng } from '../util/random.ts';
import { PipelineError } from '../errors.ts';
import { curveOf, prefixForms, topCount, topPositions, type CurvePoint } from './explained-curves.ts';
import { mlpInputs, readableTransformer } from './transformer.ts';
import { chooseOutputs, type OutputChoice } from './output-tokens.ts';
import { combineRows, quadraticForms } from './token-readings.ts';

export interface CurveSettings {
  choice: OutputChoice;
  /** The largest k (at most d). */
  maxK: number;
  /** Random bases per direction. */
  draws: number;
  /** Validation windows scored (the first ones). */
  windows: number;
  /** Training windows whose MLP inputs give the principal directions. */
  trainWindows: number;
  /** The share of positions with the largest y scored on their own ("large activations"). */
  topShare: number;
  seed: number;
}

export interface DirectionCurves {
  slug: string;
  title: string;
  eigen: CurvePoint[];
  pca: CurvePoint[];
  /** One curve per random draw. */
  random: CurvePoint[][];
}

export interface CurvesMeta {
  settings: CurveSettings;
  K: number;
  d: number;
  positions: number;
  topPositions: number;
  trainPositions: number;
  solver: string;
  directions: DirectionCurves[];
}

type Params = { settings: CurveSettings; layer: number; solver: EigenSolver };

const curvesKind = defineJob<CurvesMeta, { model: ModelMeta; windows: VocabularyWindowsMeta }, Params>({
  name: 'analysis/language-curves',
  stage: 'analysis',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => ({
    meta: explainedCurves(inputs.model, asVocabularyWindows(inputs.windows), params),
    tensors: {},
    files: {},
  }),
});

export function languageCurvesJob(
  label: string,
  model: Job<ModelMeta>,
  windows: Job<VocabularyWindowsMeta>,
  settings: CurveSettings,
  layer = 0,
): Job<CurvesMeta> {
  return curvesKind.create(
    label,
    { model, windows },
    { settings, layer, solver: defaultSolver() },
    { modules: model.modules },
  );
}

export function asCurves(a: Artifact | undefined, what = 'curves'): Artifact<CurvesMeta> {
  return artifactOf(a, curvesKind, what);
}

export function explainedCurves(
  model: Artifact<ModelMeta>,
  windows: Artifact<VocabularyWindowsMeta>,
  params: Params,
): CurvesMeta {
  const t = readableTransformer(model, params.layer, 'explained-by-k curves');
  const { settings } = params;
  const d = t.d;
  const U = t.view.unembedding(t.shape, t.weights);
  const layer = layerOf(model, t.view.mlpLayer(t.shape, t.layer));
  const K = Math.min(settings.maxK, d);
  const { validation: held, train } = mlpInputs(t, windows, {
    validation: settings.windows,
    train: settings.trainWindows,
  });
  const pca = pcaBasis(train.values, train.positions, d, K, { centred: false });
  const { vocabulary } = windows.meta;
  const outputs = chooseOutputs(vocabulary.texts, vocabulary.trainCounts, settings.choice);
  const directions = outputs.map((out): DirectionCurves => {
    const q = interactionMatrix(layer, combineRows(U, d, out.terms));
    const y = quadraticForms(held.values, held.positions, d, q);
    const large = topPositions(y, settings.topShare);
    const curve = (basis: ReturnType<typeof eigenBasis>) => {
      const points = curveOf(prefixForms(basis, held.values, held.positions), K, y, large);
      const bad = points.find((p) => ![p.correlation, p.rSquared, p.correlationTop].every(Number.isFinite));
      if (bad)
        throw new PipelineError(
          `explained curves: "${out.title}" at k = ${bad.k} has an undefined ` +
            `correlation (a constant reconstruction or activation over the ${held.positions} positions)`,
        );
      return points;
    };
    // each direction's draws from a stream of its own, seeded by its page id: adding or removing
    // another direction changes none of its draws
    const rng = new Rng(settings.seed + parseInt(sha256(out.slug).slice(0, 8), 16));
    return {
      slug: out.slug,
      title: out.title,
      eigen: curve(eigenBasis(symmetricEigen(q, d, params.solver), K)),
      pca: curve(projectedBasis(q, d, pca)),
      random: Array.from({ length: settings.draws }, () =>
        curve(projectedBasis(q, d, randomOrthonormalBasis(d, K, rng))),
      ),
    };
  });
  return {
    settings,
    K,
    d,
    positions: held.positions,
    topPositions: topCount(held.positions, settings.topShare),
    trainPositions: train.positions,
    solver: params.solver,
    directions,
  };
}
