/**
 * The language readings (paper §5) as one cached job: for each chosen output direction u (a
 * token's unembedding row, final gain folded in, or a difference of rows), the canonical
 * eigendecomposition of Q_u for the MLP of one layer (decompose/: the same interaction matrix and
 * solver as every report), its spectrum and effective rank, and for its top positive and negative
 * eigenvectors the tokens they align with (directly and through each of the layer's heads' OV
 * circuits) and the held-out contexts where they are most active; and for every token s alone in
 * the stream, how much it raises u through the MLP (x̂ᵀ Q_u x̂ with x̂ = E[s], or E[s] / rms(E[s])
 * under RMSNorm) and with the direct path (+ u · E[s]).
 *
 * In a one-layer model without normalisation every one of these is exact. In a deeper model the
 * contexts are exact (the real stream at each position), the token readings are what the MLP would
 * see of a token's embedding alone, as if the layers before it wrote nothing.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { asVocabularyWindows, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { defaultSolver, symmetricEigen, type EigenSolver } from '../decompose/eigen.ts';
import { interactionMatrix } from '../decompose/interaction.ts';
import { layerOf } from '../decompose/job.ts';
import { effectiveRank } from '../decompose/metrics.ts';
import { PipelineError } from '../errors.ts';
import { tensor } from '../tensors/safetensors.ts';
import type { ModelMeta } from '../train/job.ts';
import { chooseOutputs, type OutputChoice, type OutputDirection } from './output-tokens.ts';
import { mlpInputs, readableTransformer, tokensAlone } from './transformer.ts';
import {
  combineRows,
  extremes,
  ovPullback,
  quadraticForms,
  rowScoresOf,
  tokenOutputs,
  topContexts,
  type ContextHit,
  type Scored,
} from './token-readings.ts';

export interface ReadingSettings {
  choice: OutputChoice;
  /** Top positive and top negative eigenvectors read per direction (each). */
  eigenvectors: number;
  /** Tokens listed at each end of a reading. */
  tokens: number;
  /** Held-out contexts per eigenvector. */
  contexts: number;
  /** Tokens of text shown before a context's active position. */
  span: number;
  /** Validation windows scanned for contexts (the first ones; all when larger). */
  windows: number;
  /**
   * Tokens listed in a reading must occur this often in the training split (absent: every token).
   * A pretrained checkpoint's vocabulary holds thousands of tokens the stories never use, whose
   * rows training never shaped; unread, they would top every list.
   */
  minCount?: number;
}

export type TokenScore = { id: number; text: string; score: number };
export type Reading = { top: TokenScore[]; bottom: TokenScore[] };
export type Context = ContextHit & { before: string; token: string; next: string };

export interface EigenReading {
  /** Index in the canonical order (by |λ|, from 0). */
  index: number;
  eigenvalue: number;
  direct: Reading;
  /** One reading per attention head: the tokens it would write along v. */
  heads: Reading[];
  contexts: Context[];
}

export interface DirectionReading extends OutputDirection {
  effectiveRank: number;
  positive: number;
  negative: number;
  eigenvectors: EigenReading[];
  /**
   * Tokens alone in the stream that most raise and most lower u: through the MLP, and with the direct path
   * too.
   */
  tokensThroughMlp: Reading;
  tokensWithDirect: Reading;
}

/**
 * The decomposition checked against the model itself: on the first held-out positions, uᵀ MLP(x̂)
 * from the forward pass against x̂ᵀ Q_u x̂, for every direction read; the largest difference,
 * relative to the RMS of the activation over those positions.
 */
export interface IdentityCheck {
  positions: number;
  maxRelativeError: number;
}

export interface ReadingsMeta {
  layer: string;
  /** The read layer's index, of `layers`; whether the stream is normalised before each read. */
  layerIndex: number;
  layers: number;
  normalized: boolean;
  d: number;
  heads: number;
  solver: string;
  settings: ReadingSettings;
  /** Positions scanned for contexts: windows × T. */
  positions: number;
  identity: IdentityCheck;
  directions: DirectionReading[];
}

/** `layer`: which layer's MLP is read (its index). */
type Params = { settings: ReadingSettings; layer: number; solver: EigenSolver };
type Inputs = { model: ModelMeta; windows: VocabularyWindowsMeta };

const readingsKind = defineJob<ReadingsMeta, Inputs, Params>({
  name: 'analysis/language-readings',
  stage: 'analysis',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => {
    const { meta, spectra } = readLanguageModel(inputs.model, asVocabularyWindows(inputs.windows), params);
    const tensors: Artifact['tensors'] = {};
    spectra.forEach((values, i) => {
      tensors[`direction${i}.values`] = tensor(values, [values.length]);
    });
    return { meta, tensors, files: {} };
  },
});

/** The readings of a bilinear transformer's MLP at `layer` (the first by default). */
export function languageReadingsJob(
  label: string,
  model: Job<ModelMeta>,
  windows: Job<VocabularyWindowsMeta>,
  settings: ReadingSettings,
  layer = 0,
): Job<ReadingsMeta> {
  return readingsKind.create(
    label,
    { model, windows },
    { settings, layer, solver: defaultSolver() },
    { modules: model.modules },
  );
}

export function asReadings(a: Artifact | undefined, what = 'readings'): Artifact<ReadingsMeta> {
  return artifactOf(a, readingsKind, what);
}

/** Positions scanned per context shown, so that repeated texts can be skipped. */
const CANDIDATES = 8;

/** The first `k` contexts whose shown text (before, token, next) differs from every earlier one's. */
export function distinctContexts(contexts: Context[], k: number): Context[] {
  const seen = new Set<string>();
  return contexts
    .filter((c) => {
      const key = `${c.before}\u0000${c.token}\u0000${c.next}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, k);
}

export function readLanguageModel(
  model: Artifact<ModelMeta>,
  windows: Artifact<VocabularyWindowsMeta>,
  params: Params,
): { meta: ReadingsMeta; spectra: Float64Array[] } {
  const t = readableTransformer(model, params.layer, 'token readings');
  const { settings } = params;
  const { vocabulary } = windows.meta;
  const d = t.d;
  const E = t.view.embedding(t.shape, t.weights);
  const U = t.view.unembedding(t.shape, t.weights);
  const layerName = t.view.mlpLayer(t.shape, t.layer);
  const layer = layerOf(model, layerName);
  const outputs = chooseOutputs(vocabulary.texts, vocabulary.trainCounts, settings.choice);
  const X = mlpInputs(t, windows, { validation: settings.windows }).validation;
  if (X.positions < settings.contexts)
    throw new PipelineError(
      `token readings: readings.contexts asks for ${settings.contexts} ` +
        `contexts per eigenvector, but the ${X.positions} held-out positions ` +
        `scanned (readings.windows = ${settings.windows} validation windows) are fewer`,
      {
        exitCode: 2,
        hint:
          'lower readings.contexts or raise readings.windows in ' +
          'pipeline/reports/language.ts, or build a larger corpus',
      },
    );
  const textOf = (id: number) => vocabulary.texts[id]!;
  const named = (list: Scored[]): TokenScore[] =>
    list.map(({ id, score }) => ({ id, text: textOf(id), score }));
  // the tokens a reading may list, in increasing id order (so ties still go to the lower id)
  const listed = Array.from({ length: t.vocab }, (_, id) => id).filter(
    (id) => (vocabulary.trainCounts[id] ?? 0) >= (settings.minCount ?? 0),
  );
  if (listed.length < settings.tokens)
    throw new PipelineError(
      `token readings: only ${listed.length} tokens occur at least ${settings.minCount} times in the ` +
        `training split, fewer than the ${settings.tokens} each reading lists`,
      { exitCode: 2, hint: 'lower readings.minCount or readings.tokens, or build a larger corpus' },
    );
  // only the listed tokens' rows are scored: a pretrained vocabulary's other rows are most of it
  const rowsOf = (m: Float32Array) => {
    const out = new Float64Array(listed.length * d);
    listed.forEach((id, r) => out.set(m.subarray(id * d, (id + 1) * d), r * d));
    return out;
  };
  const alone = rowsOf(tokensAlone(t)); // E itself without normalisation
  const embedded = rowsOf(E);
  // scores of the listed tokens, in their order: each entry's index in `listed` back to its id
  const reading = (scores: Float64Array): Reading => {
    const { top, bottom } = extremes(scores, settings.tokens);
    const back = (list: Scored[]) => named(list.map(({ id, score }) => ({ id: listed[id]!, score })));
    return { top: back(top), bottom: back(bottom) };
  };
  const ovs = Array.from({ length: t.heads }, (_, h) => t.view.headOV(t.shape, t.weights, t.layer, h));
  const spectra: Float64Array[] = [];
  const identity = identityCheck(t, windows, X.values, settings.windows);
  const directions = outputs.map((out): DirectionReading => {
    const u = combineRows(U, d, out.terms);
    const q = interactionMatrix(layer, u);
    identity.check(out.title, u, q);
    const eig = symmetricEigen(q, d, params.solver);
    spectra.push(eig.values);
    const order = Array.from(eig.values.keys());
    const chosen = [
      ...order.filter((i) => eig.values[i]! > 0).slice(0, settings.eigenvectors),
      ...order.filter((i) => eig.values[i]! < 0).slice(0, settings.eigenvectors),
    ];
    // stories repeat their openings ("Once upon a time"), so the top positions often show the same
    // text: more are scanned, and the first `contexts` distinct texts are kept
    const hits = topContexts(
      X.values,
      X.positions,
      d,
      X.T,
      eig,
      q,
      chosen,
      Math.min(X.positions, CANDIDATES * settings.contexts),
    );
    // each eigenvector read directly and through every head: 1 + heads scores per token, one product
    const perVector = 1 + t.heads;
    const scores = rowScoresOf(
      alone,
      listed.length,
      d,
      chosen.flatMap((i) => {
        const v = eig.vectors.subarray(i * d, (i + 1) * d);
        return [v, ...ovs.map((ov) => ovPullback(ov, v))];
      }),
    );
    const eigenvectors = chosen.map((i, c) => {
      const [direct, ...heads] = scores.slice(c * perVector, (c + 1) * perVector);
      return {
        index: i,
        eigenvalue: eig.values[i]!,
        direct: reading(direct!),
        heads: heads.map(reading),
        contexts: distinctContexts(
          hits[c]!.map((hit) => ({ ...hit, ...X.text(hit.window, hit.position, settings.span) })),
          settings.contexts,
        ),
      };
    });
    const { mlp, direct } = tokenOutputs(alone, embedded, listed.length, d, q, u);
    return {
      ...out,
      effectiveRank: effectiveRank(eig.values),
      positive: eig.values.filter((x) => x > 0).length,
      negative: eig.values.filter((x) => x < 0).length,
      eigenvectors,
      tokensThroughMlp: reading(mlp),
      tokensWithDirect: reading(mlp.map((x, i) => x + direct[i]!)),
    };
  });
  const meta: ReadingsMeta = {
    layer: layerName,
    layerIndex: t.layer,
    layers: t.layers,
    normalized: t.normalized,
    d,
    heads: t.heads,
    solver: params.solver,
    settings,
    positions: X.positions,
    identity: identity.result(),
    directions,
  };
  return { meta, spectra };
}

/** Held-out windows the identity is checked on (the first ones): a forward pass's worth. */
const IDENTITY_WINDOWS = 4;
/** Float32 forward pass against float64 Q_u: measured near 1e-6 of the activation's RMS. */
const IDENTITY_TOLERANCE = 1e-3;

/**
 * uᵀ MLP(x̂) = x̂ᵀ Q_u x̂ checked on the model's own positions for each direction as it is read; a
 * decomposition that does not reproduce the model stops the job, naming the direction.
 */
function identityCheck(
  t: ReturnType<typeof readableTransformer>,
  windows: Artifact<VocabularyWindowsMeta>,
  inputs: Float64Array,
  scanned: number,
) {
  const out = mlpInputs(t, windows, { validation: Math.min(IDENTITY_WINDOWS, scanned) }, 'output').validation;
  const N = out.positions;
  const X = inputs.subarray(0, N * t.d);
  let worst = 0;
  return {
    check(title: string, u: Float64Array, q: Float64Array) {
      const fromModel = rowScoresOf(out.values, N, t.d, [u])[0]!;
      const fromQ = quadraticForms(X, N, t.d, q);
      // relative to the activation's RMS (absolute where the MLP writes nothing along u)
      const rms = Math.sqrt(fromModel.reduce((s, y) => s + y * y, 0) / N);
      const error = Math.max(...fromModel.map((y, n) => Math.abs(y - fromQ[n]!))) / (rms > 0 ? rms : 1);
      if (!(error <= IDENTITY_TOLERANCE))
        throw new PipelineError(
          `token readings: for "${title}", x̂ᵀ Q_u x̂ differs from the model's own uᵀ MLP(x̂) by ` +
            `${error.toExponential(2)} of its RMS on ${N} held-out positions (at most ` +
            `${IDENTITY_TOLERANCE} is float rounding): the decomposition does not reproduce this MLP`,
          { hint: "the model kind's bilinearLayers or its transformer view disagree with its forward pass" },
        );
      worst = Math.max(worst, error);
    },
    result: (): IdentityCheck => ({ positions: N, maxRelativeError: worst }),
  };
}
