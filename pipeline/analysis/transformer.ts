/**
 * A trained transformer as the language analyses read it: through its kind's transformer view
 * (models/kind.ts), never by a tensor's name, with the checks that say which models a reading can
 * mean; and the stream its MLP reads at every held-out or training position.
 */
import * as tf from '@tensorflow/tfjs';
import type { Artifact, Json } from '../cache/artifact.ts';
import { decodeCompact, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { tokenSplitsOf, type TokenWindows } from '../data/tokens.ts';
import { PipelineError } from '../errors.ts';
import {
  modelKind,
  paramTensors,
  type ModelKind,
  type TransformerView,
  type Weights,
} from '../models/kind.ts';
import { modelWeights, type ModelMeta } from '../train/job.ts';

/** A model the readings can mean, with its view, sizes and weights. */
export interface ReadableTransformer {
  kind: ModelKind;
  view: TransformerView<Json>;
  shape: Json;
  weights: Weights;
  vocab: number;
  d: number;
  heads: number;
  /** The layer whose MLP is read. */
  layer: number;
}

/**
 * The model as the readings read it, or a clear refusal: its kind must be a transformer (have a
 * transformer view) with one layer, no normalisation and a bilinear MLP. One layer, because the
 * direct and OV readings take the stream at the MLP to be a token's embedding plus what one layer
 * of heads wrote; no normalisation, because then uᵀ MLP(x) is a token's whole MLP logit share and
 * the truncated loss can add it to U x. A normalised, multi-layer model is read through the same
 * view layer by layer (the methods page says what such a reading means); these analyses do not
 * yet.
 */
export function readableTransformer(
  model: Artifact<ModelMeta>,
  layer: number,
  what: string,
): ReadableTransformer {
  const { kind: name, shape, description } = model.meta.model;
  const refuse = (why: string) =>
    new PipelineError(`${what}: ${description} ${why}`, {
      exitCode: 2,
      hint:
        'they read the MLP of a one-layer transformer without normalisation and ' +
        "with a bilinear MLP (the language report's)",
    });
  const kind = modelKind(name);
  const view = kind.transformer;
  if (!view) throw refuse(`is a '${name}' model, which has no transformer view (models/kind.ts)`);
  const sizes = view.sizes(shape);
  if (sizes.layers !== 1) throw refuse(`has ${sizes.layers} layers; the direct and OV readings assume one`);
  if (view.normalized(shape)) throw refuse('has RMSNorm, which rescales the stream the MLP reads');
  if (!view.bilinearMlp(shape)) throw refuse('has a gated MLP');
  if (layer !== 0) throw refuse(`has no layer ${layer} to read`);
  return { kind, view, shape, weights: modelWeights(model), ...sizes, layer };
}

/**
 * The stream the MLP reads at every position of the first `limits[split]` windows of each split
 * asked for, (windows·T, d) in float64, from the model's own forward pass (clean: no latent
 * noise), and each position's text. The weights become tensors once for all splits.
 */
export function mlpInputs<S extends 'validation' | 'train'>(
  t: ReadableTransformer,
  windows: Artifact<VocabularyWindowsMeta>,
  limits: Record<S, number>,
): Record<S, MlpInputs> {
  const params = paramTensors(t.kind, t.shape, t.weights);
  try {
    const splits = tokenSplitsOf(windows);
    return Object.fromEntries(
      (Object.keys(limits) as S[]).map((split) => [
        split,
        splitInputs(
          splits[split],
          split,
          limits[split],
          (ids, rows, T) => t.view.mlpInput(t.shape, params, tf.tensor2d(ids, [rows, T], 'int32'), t.layer),
          t.d,
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
