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
  type LastMlpParts,
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
 * Refuses a read layer that is not the last: the truncated loss replaces the read MLP's share of
 * each logit, which is the model's own logit only when no later layer reads what that MLP wrote.
 */
export function requireLastLayer(t: ReadableTransformer, what: string): void {
  if (t.layer !== t.layers - 1)
    throw new PipelineError(
      `${what}: layer ${t.layer} of ${t.layers} is not the last, and later layers would read the truncated MLP`,
      { exitCode: 2, hint: `it reads the last layer's MLP (layer ${t.layers - 1})` },
    );
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
          (ids) =>
            read === 'input'
              ? t.view.mlpInput(t.shape, params, ids, t.layer)
              : t.view.mlpOutput(t.shape, params, ids, t.layer),
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
  forward: (ids: tf.Tensor2D) => tf.Tensor,
  d: number,
  vocabulary: VocabularyWindowsMeta['vocabulary'],
): MlpInputs {
  const n = windowsToRead(held, split, limit);
  const T = held.context;
  const tokens = held.tokens.subarray(0, n * (T + 1));
  const values = new Float64Array(n * T * d);
  forEachBatch(held, n, 16, (ids, start) => {
    const x = tf.tidy(() => forward(ids));
    values.set(x.dataSync(), start * T * d);
    x.dispose();
  });
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

/** The first `limit` windows of a split, or a clear refusal when it has none. */
function windowsToRead(held: TokenWindows, split: string, limit: number): number {
  if (held.n === 0)
    throw new PipelineError(`token readings: the ${split} split has no windows to read the MLP's inputs on`, {
      exitCode: 2,
      hint: "a larger corpus (the stories report's corpus settings) gives it some",
    });
  return Math.min(limit, held.n);
}

/** Calls `each` on the first n windows' input tokens (rows, T) in batches, with the first's index. */
function forEachBatch(
  held: TokenWindows,
  n: number,
  batch: number,
  each: (ids: tf.Tensor2D, start: number) => void,
): void {
  const T = held.context;
  for (let start = 0; start < n; start += batch) {
    const rows = Math.min(batch, n - start);
    const ids = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++)
      ids.set(held.tokens.subarray((start + r) * (T + 1), (start + r) * (T + 1) + T), r * T);
    const x = tf.tensor2d(ids, [rows, T], 'int32');
    try {
      each(x, start);
    } finally {
      x.dispose();
    }
  }
}

/**
 * The last layer's MLP and the logits at every position of the first `limit` validation windows
 * (`TransformerView.lastMlpParts`), with each position's next token: the stream h and the input x̂
 * (positions, d) in float64, the final norm's scale (positions), the logits (positions, vocab) in
 * float32 as the model computes them.
 */
export interface LastMlpValues {
  positions: number;
  stream: Float64Array;
  input: Float64Array;
  scale: Float64Array;
  logits: Float32Array;
  targets: Int32Array;
}

export function lastMlpValues(
  t: ReadableTransformer,
  windows: Artifact<VocabularyWindowsMeta>,
  limit: number,
): LastMlpValues {
  const held = tokenSplitsOf(windows).validation;
  const n = windowsToRead(held, 'validation', limit);
  const T = held.context;
  const N = n * T;
  const out = {
    positions: N,
    stream: new Float64Array(N * t.d),
    input: new Float64Array(N * t.d),
    scale: new Float64Array(N),
    logits: new Float32Array(N * t.vocab),
    targets: Int32Array.from(
      { length: N },
      (_, i) => held.tokens[Math.floor(i / T) * (T + 1) + (i % T) + 1]!,
    ),
  };
  const params = paramTensors(t.kind, t.shape, t.weights);
  try {
    // a few windows at a time: each row of logits is the whole vocabulary
    forEachBatch(held, n, 4, (ids, start) => {
      const parts = tf.tidy(
        () => t.view.lastMlpParts(t.shape, params, ids) as unknown as tf.TensorContainer,
      ) as unknown as LastMlpParts;
      try {
        const at = start * T;
        out.stream.set(parts.stream.dataSync(), at * t.d);
        out.input.set(parts.input.dataSync(), at * t.d);
        out.scale.set(parts.scale.dataSync(), at);
        out.logits.set(parts.logits.dataSync(), at * t.vocab);
      } finally {
        tf.dispose([parts.stream, parts.input, parts.scale, parts.logits]);
      }
    });
  } finally {
    tf.dispose(Object.values(params));
  }
  return out;
}
