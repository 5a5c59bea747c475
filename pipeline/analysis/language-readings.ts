/**
 * The language report's readings (paper §5) as one cached job: for each chosen output direction u
 * (a token's unembedding row, or a difference of rows), the canonical eigendecomposition of Q_u for
 * the MLP of a one-layer model without normalisation (decompose/: the same interaction matrix and
 * solver as every report), its spectrum and effective rank, and for its top positive and negative
 * eigenvectors the tokens they align with (directly and through each head's OV circuit) and the
 * held-out contexts where they are most active; and for every token s alone in the stream, how
 * much it raises u through the MLP (E[s]ᵀ Q_u E[s]) and with the direct path (+ u · E[s]).
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { asVocabularyWindows, decodeCompact, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { tokenSplitsOf, type TokenWindows } from '../data/tokens.ts';
import { defaultSolver, symmetricEigen, type EigenSolver } from '../decompose/eigen.ts';
import { interactionMatrix } from '../decompose/interaction.ts';
import { layerOf } from '../decompose/job.ts';
import { effectiveRank } from '../decompose/metrics.ts';
import { PipelineError } from '../errors.ts';
import { forwardWithHooks, modelKind } from '../models/kind.ts';
import { tensor } from '../tensors/safetensors.ts';
import { modelWeights, type ModelMeta } from '../train/job.ts';
import { chooseOutputs, type OutputChoice, type OutputDirection } from './output-tokens.ts';
import {
  combineRows,
  extremes,
  ovPullback,
  rowScores,
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

export interface ReadingsMeta {
  layer: string;
  d: number;
  heads: number;
  solver: string;
  settings: ReadingSettings;
  /** Positions scanned for contexts: windows × T. */
  positions: number;
  directions: DirectionReading[];
}

type Params = { settings: ReadingSettings; layer: string; solver: EigenSolver };
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

/** The readings of a one-layer, unnormalised bilinear transformer's MLP. */
export function languageReadingsJob(
  label: string,
  model: Job<ModelMeta>,
  windows: Job<VocabularyWindowsMeta>,
  settings: ReadingSettings,
): Job<ReadingsMeta> {
  return readingsKind.create(
    label,
    { model, windows },
    { settings, layer: 'layers.0.mlp', solver: defaultSolver() },
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

/**
 * What the readings need of a transformer kind's shape (the llama kind's fields; a kind is named
 * only by its registry name here, so a new transformer kind with these fields reads the same way).
 */
export interface ReadableShape {
  vocab: number;
  dim: number;
  heads: number;
  kvHeads: number;
  layers: number;
  context: number;
  tiedEmbeddings: boolean;
  mlp: string;
  norm?: string;
}

/** Refuses what the readings cannot mean: another kind, more than one layer, a norm, a gated MLP. */
export function checkedShape(model: Artifact<ModelMeta>): ReadableShape {
  const { kind, shape, description } = model.meta.model;
  const s = shape as unknown as ReadableShape;
  const refuse = (why: string) =>
    new PipelineError(`token readings: ${description} ${why}`, {
      exitCode: 2,
      hint: 'they read the MLP of a one-layer Llama-kind model with shape.norm "none" and a bilinear MLP (the language report\'s)',
    });
  if (kind !== 'llama') throw refuse(`is a '${kind}' model`);
  if (s.layers !== 1) throw refuse(`has ${s.layers} layers; the direct and OV readings assume one`);
  if (s.norm !== 'none') throw refuse('has RMSNorm, which rescales the stream the MLP reads');
  if (s.mlp !== 'bilinear') throw refuse('has a gated MLP');
  return s;
}

export function readLanguageModel(
  model: Artifact<ModelMeta>,
  windows: Artifact<VocabularyWindowsMeta>,
  params: Params,
): { meta: ReadingsMeta; spectra: Float64Array[] } {
  const s = checkedShape(model);
  const { settings } = params;
  const w = modelWeights(model);
  const { vocabulary } = windows.meta;
  const d = s.dim;
  const E = w['embed']!;
  const U = s.tiedEmbeddings ? E : w['unembed']!;
  const layer = layerOf(model, params.layer);
  const outputs = chooseOutputs(vocabulary.texts, vocabulary.trainCounts, settings.choice);
  const X = mlpInputs(model, windows, { validation: settings.windows }).validation;
  if (X.positions < settings.contexts)
    throw new PipelineError(
      `token readings: readings.contexts asks for ${settings.contexts} contexts per eigenvector, but the ${X.positions} held-out positions scanned (readings.windows = ${settings.windows} validation windows) are fewer`,
      {
        exitCode: 2,
        hint: 'lower readings.contexts or raise readings.windows in pipeline/reports/language.ts, or build a larger corpus',
      },
    );
  const textOf = (id: number) => vocabulary.texts[id]!;
  const named = (list: Scored[]): TokenScore[] =>
    list.map(({ id, score }) => ({ id, text: textOf(id), score }));
  const reading = (scores: Float64Array): Reading => {
    const { top, bottom } = extremes(scores, settings.tokens);
    return { top: named(top), bottom: named(bottom) };
  };
  const spectra: Float64Array[] = [];
  const directions = outputs.map((out): DirectionReading => {
    const u = combineRows(U, d, out.terms);
    const q = interactionMatrix(layer, u);
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
    const eigenvectors = chosen.map((i, c) => {
      const v = eig.vectors.subarray(i * d, (i + 1) * d);
      return {
        index: i,
        eigenvalue: eig.values[i]!,
        direct: reading(rowScores(E, s.vocab, d, v)),
        heads: Array.from({ length: s.heads }, (_, h) =>
          reading(rowScores(E, s.vocab, d, ovPullback(w['layers.0.wv']!, w['layers.0.wo']!, s, h, v))),
        ),
        contexts: distinctContexts(
          hits[c]!.map((hit) => ({ ...hit, ...X.text(hit.window, hit.position, settings.span) })),
          settings.contexts,
        ),
      };
    });
    const { mlp, direct } = tokenOutputs(E, s.vocab, d, q, u);
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
    layer: params.layer,
    d,
    heads: s.heads,
    solver: params.solver,
    settings,
    positions: X.positions,
    directions,
  };
  return { meta, spectra };
}

/**
 * The MLP's input at every position of the first `limits[split]` windows of each split asked for,
 * (windows·T, d) in float64, from the model's own forward pass (clean: no latent noise), and each
 * position's text. The weights become tensors once for all splits.
 */
export function mlpInputs<S extends 'validation' | 'train'>(
  model: Artifact<ModelMeta>,
  windows: Artifact<VocabularyWindowsMeta>,
  limits: Record<S, number>,
): Record<S, MlpInputs> {
  const s = checkedShape(model);
  const w = modelWeights(model);
  const kind = modelKind(model.meta.model.kind);
  const layout = kind.layout(s as never);
  const params = Object.fromEntries(
    Object.entries(layout).map(([name, dims]) => [name, tf.tensor(w[name]!, dims)]),
  );
  try {
    const splits = tokenSplitsOf(windows);
    return Object.fromEntries(
      (Object.keys(limits) as S[]).map((split) => [
        split,
        splitInputs(
          splits[split],
          split,
          limits[split],
          (ids, rows, T) => {
            const { hooks } = forwardWithHooks(
              kind,
              s as never,
              params,
              tf.tensor2d(ids, [rows, T], 'int32'),
              ['mlp-in.0'],
            );
            return hooks['mlp-in.0']!;
          },
          s.dim,
          windows.meta.vocabulary,
        ),
      ]),
    ) as Record<S, MlpInputs>;
  } finally {
    tf.dispose(Object.values(params));
  }
}

export interface MlpInputs {
  /** (positions, d) */
  values: Float64Array;
  positions: number;
  T: number;
  /** The text before a position (at most `span` tokens), its token and the next one. */
  text: (window: number, position: number, span: number) => { before: string; token: string; next: string };
}

function splitInputs(
  held: TokenWindows,
  split: string,
  limit: number,
  forward: (ids: Int32Array, rows: number, T: number) => tf.Tensor,
  d: number,
  vocabulary: VocabularyWindowsMeta['vocabulary'],
): MlpInputs {
  if (held.n === 0)
    throw new PipelineError(`token readings: the ${split} split has no windows to read the MLP's inputs on`, {
      exitCode: 2,
      hint: "a larger corpus (the stories report's corpus settings) gives it some",
    });
  const n = Math.min(limit, held.n);
  const T = held.context;
  const tokens = held.tokens.subarray(0, n * (T + 1));
  const values = new Float64Array(n * T * d);
  const batch = 16;
  for (let start = 0; start < n; start += batch) {
    const rows = Math.min(batch, n - start);
    const ids = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++)
      ids.set(tokens.subarray((start + r) * (T + 1), (start + r) * (T + 1) + T), r * T);
    const x = tf.tidy(() => forward(ids, rows, T));
    values.set(x.dataSync(), start * T * d);
    x.dispose();
  }
  const text = (window: number, position: number, span: number) => {
    const at = window * (T + 1);
    return {
      before: decodeCompact(
        vocabulary,
        Array.from(tokens.subarray(at + Math.max(0, position - span), at + position)),
      ),
      token: decodeCompact(vocabulary, [tokens[at + position]!]),
      next: decodeCompact(vocabulary, [tokens[at + position + 1]!]),
    };
  };
  return { values, positions: n * T, T, text };
}
