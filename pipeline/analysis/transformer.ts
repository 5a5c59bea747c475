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
  /** Layers of the model, and the one whose MLP is read. */
  layers: number;
  layer: number;
  /** Whether the stream is normalised before each read (RMSNorm): the MLP reads x̂ = x / rms(x). */
  normalized: boolean;
}

/**
 * The model as the readings read it, or a clear refusal: its kind must be a transformer (have a
 * transformer view) whose MLP at `layer` is exactly bilinear, so that uᵀ MLP(x̂) = x̂ᵀ Q_u x̂ on
 * the stream x̂ it reads. In a one-layer model without normalisation that is a token's whole MLP
 * share of its logit; with RMSNorm, the MLP's share of the last layer's logits up to one positive
 * scale per position (the final norm's 1 / rms); what a reading of one layer of several means is
 * on the methods page.
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
      hint: 'they read the MLP of a transformer whose MLP is bilinear (a gated one only at β = 0)',
    });
  const kind = modelKind(name);
  const view = kind.transformer;
  if (!view) throw refuse(`is a '${name}' model, which has no transformer view (models/kind.ts)`);
  const sizes = view.sizes(shape);
  if (!view.bilinearMlp(shape)) throw refuse('has a gated MLP at β ≠ 0, which no Q_u holds');
  if (!(Number.isInteger(layer) && layer >= 0 && layer < sizes.layers))
    throw refuse(`has no layer ${layer} to read (its layers are 0 … ${sizes.layers - 1})`);
  return {
    kind,
    view,
    shape,
    weights: modelWeights(model),
    ...sizes,
    layer,
    normalized: view.normalized(shape),
  };
}

/**
 * Refuses a model whose logits are not U (x + MLP(x)) on the read MLP's input x: one layer, no
 * normalisation. The truncated loss adds each token's k-direction reading to U x, which only then
 * is the model's own logit.
 */
export function requireOneLayerUnnormalized(t: ReadableTransformer, what: string): void {
  const why =
    t.layers !== 1
      ? `has ${t.layers} layers, whose later layers would read the truncated MLP`
      : t.normalized
        ? 'has RMSNorm, which rescales the sum of the direct path and the MLP'
        : null;
  if (why)
    throw new PipelineError(`${what}: the model ${why}`, {
      exitCode: 2,
      hint: "it reads a one-layer transformer without normalisation (the language report's)",
    });
}

/**
 * What the read MLP would see of each token alone, (vocab, d): its input x̂ if the stream before it
 * were the token's embedding and nothing else (no earlier layer or head writing).
 */
export function tokensAlone(t: ReadableTransformer): Float32Array {
  return t.view.unitStream(t.shape, t.view.embedding(t.shape, t.weights));
}

/**
 * The stream the MLP reads (or, with `read` 'output', what it writes) at every position of the
 * first `limits[split]` windows of each split asked for, (windows·T, d) in float64, from the
 * model's own forward pass (clean: no latent noise), and each position's text. The weights become
 * tensors once for all splits.
 */
export function mlpInputs<S extends 'validation' | 'train'>(
  t: ReadableTransformer,
  windows: Artifact<VocabularyWindowsMeta>,
  limits: Record<S, number>,
  read: 'input' | 'output' = 'input',
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
          (ids, rows, T) => {
            const x = tf.tensor2d(ids, [rows, T], 'int32');
            return read === 'input'
              ? t.view.mlpInput(t.shape, params, x, t.layer)
              : t.view.mlpOutput(t.shape, params, x, t.layer);
          },
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
