/**
 * What truncation costs the model: held-out loss when the last layer's MLP is replaced, for every
 * truncated output token at once, by a k-direction reading of it. The logits are
 * s · U (h + MLP(x̂)): h the stream before the MLP, x̂ what it reads (h itself without
 * normalisation, h / rms(h) with it), U the unembedding with the final norm's gain folded in, s the
 * final norm's scale at the position (1 without normalisation). Token t's share of the MLP is
 * exactly x̂ᵀ Q_t x̂ (Q_t = Q_u for u = U[t]), so, with s held at the model's own value,
 *
 *   logit_k[t] = s · (U[t] · h + f_{t,k}(x̂)),
 *
 *   eigen:   f = Σ_{i≤k} λ_{t,i} (v_{t,i} · x̂)²       each token its own top-k eigenvectors by |λ|
 *   random:  f = (R_t x̂)ᵀ (R_t Q_t R_tᵀ)(R_t x̂)       each token its own Haar-random k directions
 *   PCA:     f = (R x̂)ᵀ (R Q_t Rᵀ)(R x̂)                one basis for all tokens: the top-k principal
 *                                                       directions of the MLP inputs (training positions)
 *
 * Eigen and random spend k directions per token; PCA spends k in all, the stronger position for
 * it (its k directions are the inputs' best). At k = d every method is the model itself (tested,
 * and checked on every run against the forward pass's logits); "no MLP" (k = 0) is s · U h alone.
 * Holding s is what makes a per-token truncation a logit at all: each token's reading would give
 * the final norm another stream to rescale. Without normalisation and in a one-layer model this is
 * the whole MLP's share; in a deeper model it is the last layer's, read after every earlier layer
 * wrote the stream. Tokens outside the truncated set (a `minCount` on the training counts) keep
 * their exact logit. The loss is the mean cross-entropy over held-out positions.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { asVocabularyWindows, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
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
import {
  lastMlpValues,
  mlpInputs,
  readableTransformer,
  requireLastLayer,
  type LastMlpValues,
} from './transformer.ts';
import { quadraticForms } from './token-readings.ts';

export interface TruncationSettings {
  /** The k at which the loss is computed (each at most d). */
  ks: number[];
  /** Validation windows scored (the first ones). */
  windows: number;
  /** Training windows whose MLP inputs give the principal directions. */
  trainWindows: number;
  /**
   * Truncate only the tokens the training split holds at least this often (absent: every token);
   * the others keep their exact logit.
   */
  minCount?: number;
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
  /** The read layer (the last) of how many, and whether the stream is normalised (s ≠ 1). */
  layer: number;
  layers: number;
  normalized: boolean;
  /** Output tokens truncated, and the share of held-out positions whose next token is one of them. */
  tokens: number;
  targetShare: number;
  /**
   * The model's held-out loss on the same positions: from its decomposition (Q_t) and from its own
   * forward pass; and with the MLP removed (s · U h alone).
   */
  full: number;
  forward: number;
  noMlp: number;
  losses: TruncatedLoss[];
  solver: string;
}

/**
 * Mean cross-entropy of logits (N, vocab) against targets, by the training code's own loss (float32, as the
 * model evaluates).
 */
export function meanLoss(
  logits: Float32Array | Float64Array,
  N: number,
  vocab: number,
  targets: Int32Array,
): number {
  const values = logits instanceof Float32Array ? logits : Float32Array.from(logits);
  const loss = tf.tidy(
    () =>
      tf.mean(rowCrossEntropy(tf.tensor2d(values, [N, vocab]), tf.tensor1d(targets, 'int32'))).dataSync()[0]!,
  );
  if (!Number.isFinite(loss)) throw new PipelineError(`truncated loss: cross-entropy is ${loss}`);
  return loss;
}

/**
 * The held-out loss at every k of each method, the model's own (by Q_t and by its forward pass)
 * and without the MLP: `v` the last MLP's parts at N held-out positions, U (vocab, d) the
 * unembedding, `tokens` those truncated, `pca` (K, d) the shared principal directions. Each
 * truncated token's column of every reading is filled in turn.
 */
export function truncatedLosses(
  layer: BilinearLayer,
  U: ArrayLike<number>,
  vocab: number,
  v: LastMlpValues,
  tokens: Int32Array,
  pca: Float64Array,
  ks: number[],
  rng: Rng,
  solver: EigenSolver,
): Pick<TruncationMeta, 'full' | 'forward' | 'noMlp' | 'losses'> {
  const d = layer.d;
  const N = v.positions;
  const K = Math.max(...ks);
  if (K > d || ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new PipelineError(
      `truncated loss: every k must be a whole number in [1, ${d}], got ${ks.join(', ')}`,
    );
  const direct = matmul64(
    { data: v.stream, rows: N, cols: d },
    { data: Float64Array.from(U), rows: vocab, cols: d, transpose: true },
  ); // (N, vocab) = H Uᵀ
  const n = tokens.length;
  // the truncated tokens' columns (N, n) of each reading, before the scale s (float32, as the logits)
  const columns = () => ks.map(() => new Float32Array(N * n));
  const [eigen, random, shared] = [columns(), columns(), columns()];
  const full = new Float32Array(N * n);
  // U[t]·h plus column k − 1 of F (N, K), into column j, for every k asked for
  const add = (readings: Float32Array[], j: number, t: number, F: Float64Array) => {
    ks.forEach((k, i) => {
      for (let p = 0; p < N; p++) readings[i]![p * n + j] = direct[p * vocab + t]! + F[p * K + k - 1]!;
    });
  };
  tokens.forEach((t, j) => {
    const q = interactionMatrix(
      layer,
      Float64Array.from({ length: d }, (_, i) => U[t * d + i]!),
    );
    const y = quadraticForms(v.input, N, d, q);
    for (let p = 0; p < N; p++) full[p * n + j] = direct[p * vocab + t]! + y[p]!;
    add(eigen, j, t, prefixForms(eigenBasis(symmetricEigen(q, d, solver), K), v.input, N));
    add(random, j, t, prefixForms(projectedBasis(q, d, randomOrthonormalBasis(d, K, rng)), v.input, N));
    add(shared, j, t, prefixForms(projectedBasis(q, d, pca.subarray(0, K * d)), v.input, N));
  });
  // the model's own logits with the truncated tokens' columns replaced by s times a reading's
  const logits = new Float32Array(N * vocab);
  const loss = (columnsOf: Float32Array) => {
    logits.set(v.logits);
    for (let p = 0; p < N; p++)
      for (let j = 0; j < n; j++) logits[p * vocab + tokens[j]!] = v.scale[p]! * columnsOf[p * n + j]!;
    return meanLoss(logits, N, vocab, v.targets);
  };
  for (let p = 0; p < N; p++)
    for (let t = 0; t < vocab; t++) logits[p * vocab + t] = v.scale[p]! * direct[p * vocab + t]!;
  const noMlp = meanLoss(logits, N, vocab, v.targets);
  return {
    full: loss(full),
    forward: meanLoss(v.logits, N, vocab, v.targets),
    noMlp,
    losses: ks.map((k, i) => ({
      k,
      eigen: loss(eigen[i]!),
      random: loss(random[i]!),
      pca: loss(shared[i]!),
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
  layer = 0,
): Job<TruncationMeta> {
  return truncationKind.create(
    label,
    { model, windows },
    { settings, layer, solver: defaultSolver() },
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
  requireLastLayer(t, 'truncated loss');
  const { settings } = params;
  const d = t.d;
  const ks = settings.ks.filter((k) => k <= d);
  const held = lastMlpValues(t, windows, settings.windows);
  const { train } = mlpInputs(t, windows, { train: settings.trainWindows });
  const pca = pcaBasis(train.values, train.positions, d, Math.max(...ks), { centred: false });
  const counts = windows.meta.vocabulary.trainCounts;
  const tokens = Int32Array.from({ length: t.vocab }, (_, id) => id).filter(
    (id) => settings.minCount === undefined || (counts[id] ?? 0) >= settings.minCount,
  );
  if (tokens.length === 0)
    throw new PipelineError(
      `truncated loss: no token occurs at least ${settings.minCount} times in the training split`,
      {
        exitCode: 2,
        hint: 'lower truncation.minCount, or build a larger corpus',
      },
    );
  const U = t.view.unembedding(t.shape, t.weights);
  const result = truncatedLosses(
    layerOf(model, t.view.mlpLayer(t.shape, t.layer)),
    U,
    t.vocab,
    held,
    tokens,
    pca,
    ks,
    new Rng(settings.seed),
    params.solver,
  );
  // the decomposition must give back the model's own loss before any truncation is trusted
  if (!(Math.abs(result.full - result.forward) <= IDENTITY_TOLERANCE * Math.max(1, result.forward)))
    throw new PipelineError(
      `truncated loss: the decomposition gives a held-out loss of ${result.full}, the forward pass ` +
        `${result.forward} (tolerance ${IDENTITY_TOLERANCE} relative)`,
      { hint: "the bilinear layers of the model's kind do not reproduce its forward pass: a bug to report" },
    );
  const truncated = new Set(tokens);
  return {
    settings,
    positions: held.positions,
    vocab: t.vocab,
    d,
    layer: t.layer,
    layers: t.layers,
    normalized: t.normalized,
    tokens: tokens.length,
    targetShare: held.targets.filter((id) => truncated.has(id)).length / held.positions,
    solver: params.solver,
    ...result,
  };
}

/** How far the loss from Q_t may sit from the forward pass's, relative: float32 logits, summed. */
const IDENTITY_TOLERANCE = 1e-4;
