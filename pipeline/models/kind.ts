/**
 * What a kind of model is, to the pipeline. Each kind is one file in models/ that owns its shape
 * type, seeded initialisation, forward pass (with named hook points exposing intermediate
 * activations), tensor layout, the metadata written into its safetensors file, and the bilinear
 * layers it holds, in the decomposition's terms. Nothing outside models/ knows a kind's tensors:
 * the trainer, the decomposition, the analyses and the emitter see only this interface (a
 * transformer's parts through its `transformer` view).
 *
 * Weights are named float32 arrays in math layout (output dimension first), the layout of the
 * published safetensors files.
 */
import * as tf from '@tensorflow/tfjs';
import type { Json } from '../cache/artifact.ts';
import type { Rng } from '../util/random.ts';

export type Weights = Record<string, Float32Array>;

/** Regularisation applied during training only, seeded per step. */
export interface TrainingNoise {
  /** Gaussian on each bilinear layer's input, std relative to the batch's own std (0 = off). */
  latent: number;
  /** Absolute std of Gaussian noise on continuous inputs such as pixels (0 = off). */
  input: number;
  /** Dropout rate on each bilinear layer's output (0 = off). */
  dropout: number;
  seed: number;
}

/** A training noise a kind's forward pass may apply (a field of TrainingNoise). */
export type NoiseName = 'latent' | 'input' | 'dropout';

export interface ForwardOptions {
  /** Present while training: the noise of this step. */
  noise?: TrainingNoise;
  /** Named scalars of the schedule at this step (e.g. a gate's β); a kind reads those it knows. */
  scalars?: Record<string, number>;
  /** Hook points whose activations to return (names from `hookPoints`). */
  hooks?: string[];
}

export interface ForwardResult {
  /** The model's output, e.g. logits (n, c), or (n, T, vocab) for a language model. */
  output: tf.Tensor;
  /** The activations asked for in ForwardOptions.hooks, by hook name. */
  hooks: Record<string, tf.Tensor>;
}

/** A matrix in row-major math layout, as the decomposition engine takes it. */
export interface LayerMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * One bilinear layer, in the decomposition's terms (decompose/layer.ts):
 *   e = E x,   out = P ((W e) ⊙ (V e))   (+ optional biases)
 * `input` names the space x lives in (pixels, the residual stream), `output` the space `out` is
 * in (class logits, the residual stream), so that output directions can be chosen in it.
 */
export interface BilinearLayerParts {
  name: string;
  input: string;
  output: string;
  E: LayerMatrix | null;
  W: LayerMatrix;
  V: LayerMatrix;
  P: LayerMatrix;
  biases?: { E?: Float32Array; W?: Float32Array; V?: Float32Array; P?: Float32Array };
}

export interface ModelKind<S extends Json = Json> {
  /** Kebab-case, stable: recorded in every weights file as its format. */
  name: string;
  /** `import.meta.url` of the defining module (its code is part of every training job's key). */
  module: string;
  /** The shape checked, or an error naming the field; called at plan time. */
  checkShape(shape: unknown): S;
  /** Tensor names and shapes, in math layout. */
  layout(shape: S): Record<string, number[]>;
  /** Seeded initial weights (every tensor of the layout). */
  init(shape: S, rng: Rng): Weights;
  /** Hook points the forward pass can expose; 'name.*' stands for one per layer ('name.0', …). */
  hookPoints: readonly string[];
  /** The forward pass of a model of `shape` with these parameters (the kind's layout) on inputs x. */
  forward(shape: S, params: Record<string, tf.Tensor>, x: tf.Tensor, options?: ForwardOptions): ForwardResult;
  /**
   * The training noises this kind's forward pass applies. The trainer refuses a run that sets any
   * other (a setting silently ignored would publish a model trained otherwise than it says).
   */
  noises: readonly NoiseName[];
  /** The scheduled scalars its forward pass reads (the trainer's own `lr` aside); others are refused. */
  scalars: readonly string[];
  /** Whether decoupled weight decay applies to a tensor (its parameter group). */
  decays(tensor: string): boolean;
  /** Named parameter groups a run may train alone (TrainSettings.trains), each a test of a tensor's name. */
  groups?: Record<string, (tensor: string) => boolean>;
  /** A one-line description of a model of this shape, for pages and weights files. */
  describe(shape: S): string;
  /** The forward pass in words, as written into the weights file's metadata (`layout`). */
  layoutText: string;
  /** The model's bilinear layers, from its weights. */
  bilinearLayers(shape: S, weights: Weights): BilinearLayerParts[];
  /**
   * The same model written with plainly bilinear layers, computing exactly the same function (for
   * kinds whose gated layers can be bilinear, e.g. at β = 0); an error naming the shape otherwise.
   */
  bilinearForm?(shape: S, weights: Weights): { shape: S; weights: Weights };
  /**
   * The model as a single checkpoint file another program runs (llama2.c's model.bin for a
   * Llama transformer): its file extension, and its bytes or an error naming what it cannot hold.
   */
  checkpoint?: { extension: string; describe: string; write(shape: S, weights: Weights): Uint8Array };
  /** Continuations of token prompts, for kinds that are language models (absent otherwise). */
  sample?(shape: S, weights: Weights, prompts: number[][], settings: SampleSettings): Generated;
  /** The parts analyses read of a transformer, for kinds that are transformers (absent otherwise). */
  transformer?: TransformerView<S>;
}

/**
 * A transformer as analyses read it, without naming its tensors. Each part is given in the basis
 * of the stream it reads: where the model normalises the residual stream x before a read
 * (RMSNorm, g ⊙ x / rms(x)), the part reads the unit-RMS stream x̂ = x / rms(x) and the norm's
 * gain g is folded into the part's own input matrix, so that one set of readings serves a model
 * with or without normalisation. Without normalisation x̂ = x and nothing is folded.
 */
export interface TransformerView<S> {
  /** Vocabulary size, residual width d, layers, attention heads. */
  sizes(shape: S): { vocab: number; d: number; layers: number; heads: number };
  /** Whether the stream is normalised before each read (then x̂ = x / rms(x), not x). */
  normalized(shape: S): boolean;
  /** Whether every layer's MLP is exactly bilinear, so that `bilinearLayers` holds it as Q_u. */
  bilinearMlp(shape: S): boolean;
  /**
   * Rows of the residual stream (rows, d) as a normalised read sees them, before its gain: each row
   * x / √(mean(x²) + ε) with normalisation, the rows themselves without.
   */
  unitStream(shape: S, rows: Float32Array): Float32Array;
  /** The token embedding (vocab, d), row-major: a token's residual stream before any layer. */
  embedding(shape: S, weights: Weights): Float32Array;
  /** The unembedding (vocab, d) with the final norm's gain folded in: logit_t = U[t] · x̂_final. */
  unembedding(shape: S, weights: Weights): Float32Array;
  /**
   * Head h of layer l as an OV circuit: W_V (hs, d), with the attention norm's gain folded into its
   * columns, and W_O (d, hs); the head writes W_O W_V x̂ (times its attention weights).
   */
  headOV(shape: S, weights: Weights, layer: number, head: number): { wv: Float32Array; wo: Float32Array };
  /** The name, among `bilinearLayers`, of layer l's MLP. */
  mlpLayer(shape: S, layer: number): string;
  /** What layer l's MLP writes into the stream at every position of windows ids (n, T): (n·T, d). */
  mlpOutput(shape: S, params: Record<string, tf.Tensor>, ids: tf.Tensor2D, layer: number): tf.Tensor2D;
  /**
   * The stream layer l's MLP reads (x̂ before its normalisation's gain, the input of its bilinear
   * layer) at every position of token windows ids (n, T), without training noise: (n·T, d).
   */
  mlpInput(shape: S, params: Record<string, tf.Tensor>, ids: tf.Tensor2D, layer: number): tf.Tensor2D;
  /**
   * The logits taken apart at the last layer's MLP, at every position of token windows ids (n, T):
   * the stream h before that MLP and the input x̂ it reads (both (n·T, d)), the final norm's
   * per-position scale s (n·T; 1 without normalisation) and the logits (n·T, vocab), so that
   * logits = s · U (h + MLP(x̂)) with U the `unembedding`.
   */
  lastMlpParts(shape: S, params: Record<string, tf.Tensor>, ids: tf.Tensor2D): LastMlpParts;
}

/** See `TransformerView.lastMlpParts`. */
export interface LastMlpParts {
  stream: tf.Tensor2D;
  input: tf.Tensor2D;
  scale: tf.Tensor1D;
  logits: tf.Tensor2D;
}

export interface SampleSettings {
  /** 0 = greedy; 1 = the model's own distribution. */
  temperature: number;
  /** Nucleus: keep the most probable tokens until their probability reaches this (1 = all). */
  topP: number;
  /** New tokens per sequence at most (the prompt and these fit in the context). */
  maxTokens: number;
  seed: number;
  /** Tokens that end a sequence (absent: BOS and EOS, as llama2.c; a compact vocabulary has no EOS). */
  stop?: number[];
  /** Scalars the forward pass reads, held at these values (e.g. a gate's β), instead of the shape's. */
  scalars?: Record<string, number>;
}

export interface Generated {
  /** The new tokens of each sequence, without its prompt or the stop token that ended it. */
  tokens: number[][];
  /** Whether each sequence ended by itself (a stop token) rather than at maxTokens. */
  finished: boolean[];
}

/** Parameters of a model of this kind and shape (every tensor of its layout). */
export function parameterCount(kind: ModelKind, shape: Json): number {
  return Object.values(kind.layout(shape)).reduce((s, dims) => s + dims.reduce((a, b) => a * b, 1), 0);
}

// Any shape: a kind's shape type is known only to its own module.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const KINDS = new Map<string, ModelKind<any>>();

/** Registers a kind (done by its own module, once, when imported). */
export function defineModel<S extends Json>(kind: ModelKind<S>): ModelKind<S> {
  const known = KINDS.get(kind.name);
  if (known && known.module !== kind.module)
    throw new Error(`model kind '${kind.name}' is defined in both ${known.module} and ${kind.module}`);
  KINDS.set(kind.name, kind);
  return kind;
}

export function modelKind(name: string): ModelKind {
  const kind = KINDS.get(name);
  if (!kind)
    throw new Error(
      `unknown model kind '${name}' (known: ` +
        `${[...KINDS.keys()].sort().join(', ')}); import its module from pipeline/models/`,
    );
  return kind as ModelKind;
}

/**
 * Checks that weights have exactly the kind's layout: every tensor and every size, nothing else.
 * (Finiteness is checked where weights are decomposed, decompose/layer.ts, and training stops on a
 * non-finite loss.)
 */
export function checkWeights(kind: ModelKind, shape: Json, weights: Weights, where: string): void {
  const layout = kind.layout(shape);
  for (const [name, dims] of Object.entries(layout)) {
    const w = weights[name];
    const size = dims.reduce((a, b) => a * b, 1);
    if (!w)
      throw new Error(
        `${where}: ${kind.name} needs tensor '${name}' [${dims.join(', ')}], ` +
          `which is missing (has: ${Object.keys(weights).join(', ') || 'none'})`,
      );
    if (w.length !== size)
      throw new Error(
        `${where}: tensor '${name}' holds ${w.length} values; ${kind.name} ` +
          `expects [${dims.join(', ')}] = ${size}`,
      );
  }
  const extra = Object.keys(weights).filter((name) => !Object.hasOwn(layout, name));
  if (extra.length > 0)
    throw new Error(`${where}: tensors ${extra.join(', ')} are not part of ${kind.name}'s layout`);
}

/** Weights as tensors in the kind's layout, for its forward pass (the caller disposes them). */
export function paramTensors<S extends Json>(
  kind: ModelKind<S>,
  shape: S,
  weights: Weights,
): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(kind.layout(shape)).map(([name, dims]) => [name, tf.tensor(weights[name]!, dims)]),
  );
}

/**
 * The forward pass without training noise, returning the activations at `hooks` (names the kind declares).
 */
export function forwardWithHooks(
  kind: ModelKind,
  shape: Json,
  params: Record<string, tf.Tensor>,
  x: tf.Tensor,
  hooks: string[],
): ForwardResult {
  // A hook point 'name.*' stands for one per layer: 'name.0', 'name.1', …
  const unknown = hooks.filter(
    (h) => !kind.hookPoints.includes(h) && !kind.hookPoints.includes(h.replace(/\.\d+$/, '.*')),
  );
  if (unknown.length > 0)
    throw new Error(
      `${kind.name} has no hook point ${unknown.map((h) => `'${h}'`).join(', ')} (has: ` +
        `${kind.hookPoints.join(', ')})`,
    );
  return kind.forward(shape, params, x, { hooks });
}
