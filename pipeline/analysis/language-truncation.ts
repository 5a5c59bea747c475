/**
 * What truncation costs the model: held-out loss when the MLP is replaced, for every output token
 * at once, by a k-direction reading of it. In the one-layer model without normalisation the logits
 * are U (x + MLP(x)) on the MLP's input x, and token t's share of the MLP is exactly xᵀ Q_t x
 * (Q_t = Q_u for u = U[t]), so
 *
 *   logit_k[t](x) = U[t] · x + f_{t,k}(x),
 *
 *   eigen:   f = Σ_{i≤k} λ_{t,i} (v_{t,i} · x)²       each token its own top-k eigenvectors by |λ|
 *   random:  f = (R_t x)ᵀ (R_t Q_t R_tᵀ)(R_t x)        each token its own Haar-random k directions
 *   PCA:     f = (R x)ᵀ (R Q_t Rᵀ)(R x)                 one basis for all tokens: the top-k principal
 *                                                       directions of the MLP inputs (training positions)
 *
 * Eigen and random spend k directions per token; PCA spends k in all, the stronger position for
 * it (its k directions are the inputs' best). At k = d every method is the model itself (tested);
 * "no MLP" (k = 0) is U x alone. The loss is the mean cross-entropy over held-out positions.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { asVocabularyWindows, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { tokenSplitsOf } from '../data/tokens.ts';
import { defaultSolver, symmetricEigen, type EigenSolver } from '../decompose/eigen.ts';
import { interactionMatrix } from '../decompose/interaction.ts';
import { layerOf } from '../decompose/job.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { eigenBasis, pcaBasis, projectedBasis, randomOrthonormalBasis } from '../decompose/truncation.ts';
import { PipelineError } from '../errors.ts';
import { rowCrossEntropy } from '../native/cross-entropy.ts';
import { matmul64 } from '../native/matmul64.ts';
import type { ModelMeta } from '../train/job.ts';
import { Rng } from '../util/random.ts';
import { prefixForms } from './explained-curves.ts';
import { mlpInputs, readableTransformer, requireOneLayerUnnormalized } from './transformer.ts';
import { quadraticForms } from './token-readings.ts';

export interface TruncationSettings {
  /** The k at which the loss is computed (each at most d). */
  ks: number[];
  /** Validation windows scored (the first ones). */
  windows: number;
  /** Training windows whose MLP inputs give the principal directions. */
  trainWindows: number;
  seed: number;
}

export interface TruncatedLoss {
  k: number;
  eigen: number;
  random: number;
  pca: number;
}

export interface TruncationMeta {
  settings: TruncationSettings;
  positions: number;
  vocab: number;
  d: number;
  /** The model's own held-out loss on the same positions, and with the MLP removed (U x alone). */
  full: number;
  noMlp: number;
  losses: TruncatedLoss[];
  solver: string;
}

/**
 * Mean cross-entropy of logits (N, vocab) against targets, by the training code's own loss (float32, as the
 * model evaluates).
 */
export function meanLoss(logits: Float64Array, N: number, vocab: number, targets: Int32Array): number {
  const loss = tf.tidy(
    () =>
      tf
        .mean(
          rowCrossEntropy(tf.tensor2d(Float32Array.from(logits), [N, vocab]), tf.tensor1d(targets, 'int32')),
        )
        .dataSync()[0]!,
  );
  if (!Number.isFinite(loss)) throw new PipelineError(`truncated loss: cross-entropy is ${loss}`);
  return loss;
}

/**
 * The held-out loss at every k of each method, the model's own and without the MLP: X (N, d) the
 * MLP inputs, U (vocab, d) the unembedding, `pca` (K, d) the shared principal directions. Each
 * token's column of every logits matrix is filled in turn.
 */
export function truncatedLosses(
  layer: BilinearLayer,
  U: ArrayLike<number>,
  vocab: number,
  X: Float64Array,
  N: number,
  targets: Int32Array,
  pca: Float64Array,
  ks: number[],
  rng: Rng,
  solver: EigenSolver,
): Omit<TruncationMeta, 'settings' | 'positions' | 'vocab' | 'd' | 'solver'> {
  const d = layer.d;
  const K = Math.max(...ks);
  if (K > d || ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new PipelineError(
      `truncated loss: every k must be a whole number in [1, ${d}], got ${ks.join(', ')}`,
    );
  const direct = matmul64(
    { data: X, rows: N, cols: d },
    { data: Float64Array.from(U), rows: vocab, cols: d, transpose: true },
  ); // (N, vocab) = X Uᵀ
  const full = Float64Array.from(direct);
  const atEachK = () => ks.map(() => Float64Array.from(direct));
  const [eigen, random, shared] = [atEachK(), atEachK(), atEachK()];
  // adds column k − 1 of F (N, K) to token t's logits, for every k asked for
  const add = (logits: Float64Array[], t: number, F: Float64Array) => {
    ks.forEach((k, j) => {
      for (let n = 0; n < N; n++) logits[j]![n * vocab + t]! += F[n * K + k - 1]!;
    });
  };
  for (let t = 0; t < vocab; t++) {
    const q = interactionMatrix(
      layer,
      Float64Array.from({ length: d }, (_, i) => U[t * d + i]!),
    );
    const y = quadraticForms(X, N, d, q);
    for (let n = 0; n < N; n++) full[n * vocab + t]! += y[n]!;
    add(eigen, t, prefixForms(eigenBasis(symmetricEigen(q, d, solver), K), X, N));
    add(random, t, prefixForms(projectedBasis(q, d, randomOrthonormalBasis(d, K, rng)), X, N));
    add(shared, t, prefixForms(projectedBasis(q, d, pca.subarray(0, K * d)), X, N));
  }
  const loss = (l: Float64Array) => meanLoss(l, N, vocab, targets);
  return {
    full: loss(full),
    noMlp: loss(direct),
    losses: ks.map((k, j) => ({
      k,
      eigen: loss(eigen[j]!),
      random: loss(random[j]!),
      pca: loss(shared[j]!),
    })),
  };
}

type Params = { settings: TruncationSettings; layer: number; solver: EigenSolver };

const truncationKind = defineJob<
  TruncationMeta,
  { model: ModelMeta; windows: VocabularyWindowsMeta },
  Params
>({
  name: 'analysis/language-truncation',
  stage: 'analysis',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => ({
    meta: languageTruncation(inputs.model, asVocabularyWindows(inputs.windows), params),
    tensors: {},
    files: {},
  }),
});

export function languageTruncationJob(
  label: string,
  model: Job<ModelMeta>,
  windows: Job<VocabularyWindowsMeta>,
  settings: TruncationSettings,
): Job<TruncationMeta> {
  return truncationKind.create(
    label,
    { model, windows },
    { settings, layer: 0, solver: defaultSolver() },
    { modules: model.modules },
  );
}

export function asTruncation(a: Artifact | undefined, what = 'truncated loss'): Artifact<TruncationMeta> {
  return artifactOf(a, truncationKind, what);
}

export function languageTruncation(
  model: Artifact<ModelMeta>,
  windows: Artifact<VocabularyWindowsMeta>,
  params: Params,
): TruncationMeta {
  const t = readableTransformer(model, params.layer, 'truncated loss');
  requireOneLayerUnnormalized(t, 'truncated loss');
  const { settings } = params;
  const d = t.d;
  const ks = settings.ks.filter((k) => k <= d);
  const { validation: held, train } = mlpInputs(t, windows, {
    validation: settings.windows,
    train: settings.trainWindows,
  });
  const pca = pcaBasis(train.values, train.positions, d, Math.max(...ks), { centred: false });
  const split = tokenSplitsOf(windows).validation;
  const T = split.context;
  const targets = Int32Array.from(
    { length: held.positions },
    (_, n) => split.tokens[Math.floor(n / T) * (T + 1) + (n % T) + 1]!,
  );
  const U = t.view.unembedding(t.shape, t.weights);
  const result = truncatedLosses(
    layerOf(model, t.view.mlpLayer(t.shape, t.layer)),
    U,
    t.vocab,
    held.values,
    held.positions,
    targets,
    pca,
    ks,
    new Rng(settings.seed),
    params.solver,
  );
  return { settings, positions: held.positions, vocab: t.vocab, d, solver: params.solver, ...result };
}
