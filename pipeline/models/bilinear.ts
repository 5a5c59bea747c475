/**
 * The bilinear classifier of the paper (Pearce et al., "Bilinear MLPs enable weight-based
 * mechanistic interpretability", §3), with an optional embedding and no biases:
 *
 *   e = E x            E: (d, in); E = I when there is no embedding
 *   h = (W e) ⊙ (V e)  W, V: (m, d)
 *   logits = P h       P: (c, m)
 *
 * Weights are stored in this math layout (output dimension first), the layout of the exported
 * safetensors files, and the forward pass multiplies by their transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/random.ts';

export interface BilinearShape {
  /** Input dimension (784 for 28×28 images). */
  input: number;
  /** Embedding dimension d, or null for no embedding (then d = input). */
  embed: number | null;
  /** Hidden (bilinear) dimension m. */
  hidden: number;
  /** Number of classes c. */
  classes: number;
}

/** Weights as plain arrays, row-major in math layout. E is absent without an embedding. */
export interface BilinearWeights {
  shape: BilinearShape;
  E: Float32Array | null; // (d, in)
  W: Float32Array; // (m, d)
  V: Float32Array; // (m, d)
  P: Float32Array; // (c, m)
}

export function embedDim(shape: BilinearShape): number {
  return shape.embed ?? shape.input;
}

/**
 * Seeded initialisation, N(0, 1/fan_in) for every matrix (the variance-preserving choice for
 * each linear map; the bilinear product then starts with O(1) activations).
 */
export function initWeights(shape: BilinearShape, seed: number): BilinearWeights {
  const rng = new Rng(seed);
  const d = embedDim(shape);
  return {
    shape,
    E: shape.embed === null ? null : rng.normalArray(d * shape.input, 1 / Math.sqrt(shape.input)),
    W: rng.normalArray(shape.hidden * d, 1 / Math.sqrt(d)),
    V: rng.normalArray(shape.hidden * d, 1 / Math.sqrt(d)),
    P: rng.normalArray(shape.classes * shape.hidden, 1 / Math.sqrt(shape.hidden)),
  };
}

/** The weights as TensorFlow.js variables, for training. */
export interface BilinearVariables {
  E: tf.Variable<tf.Rank.R2> | null;
  W: tf.Variable<tf.Rank.R2>;
  V: tf.Variable<tf.Rank.R2>;
  P: tf.Variable<tf.Rank.R2>;
}

export function toVariables(w: BilinearWeights): BilinearVariables {
  const d = embedDim(w.shape);
  // tidy disposes the initial tensor; the variable keeps the data alive.
  const variable = (data: Float32Array, rows: number, cols: number, name: string) =>
    tf.tidy(() => tf.variable(tf.tensor2d(data, [rows, cols]), true, name));
  return {
    E: w.E === null ? null : variable(w.E, d, w.shape.input, 'E'),
    W: variable(w.W, w.shape.hidden, d, 'W'),
    V: variable(w.V, w.shape.hidden, d, 'V'),
    P: variable(w.P, w.shape.classes, w.shape.hidden, 'P'),
  };
}

export function variableList(v: BilinearVariables): tf.Variable[] {
  return [v.E, v.W, v.V, v.P].filter((x): x is tf.Variable<tf.Rank.R2> => x !== null);
}

export function fromVariables(shape: BilinearShape, v: BilinearVariables): BilinearWeights {
  const read = (x: tf.Variable) => new Float32Array(x.dataSync());
  return { shape, E: v.E === null ? null : read(v.E), W: read(v.W), V: read(v.V), P: read(v.P) };
}

/**
 * Training-time noise, drawn from `seed` so that a training run is reproducible: on the bilinear
 * layer's input (the paper's "latent noise", §3), Gaussian with standard deviation `latent` times
 * the batch's own standard deviation of e; optionally on the input pixels; optionally dropout on h.
 */
export interface TrainingNoise {
  latent: number;
  /** Absolute standard deviation of Gaussian noise on the input pixels (0 = off). */
  input?: number;
  /**
   * Dropout rate on the hidden layer h (0 = off): each unit is zeroed with this probability and
   * the others scaled by 1/(1 − rate), so evaluation (no noise) needs no rescaling.
   */
  dropout?: number;
  seed: number;
}

/** logits = P((W e) ⊙ (V e)), e = E x, for a batch x: (n, in) → (n, c). */
export function forward(v: BilinearVariables, x: tf.Tensor2D, noise?: TrainingNoise): tf.Tensor2D {
  const xin = noise?.input ? tf.add(x, tf.randomNormal(x.shape, 0, noise.input, 'float32', noise.seed + 1)) : x;
  let e = v.E === null ? xin : tf.matMul(xin, v.E, false, true); // (n, d)
  if (noise && noise.latent > 0) {
    // The scale is read out as a number, so it is a constant of the step: the noise sends no
    // gradient through std(e) (the optimiser cannot shrink the noise by shrinking e's spread).
    const std = tf.tidy(() => tf.sqrt(tf.moments(e).variance).dataSync()[0]!);
    e = tf.add(e, tf.randomNormal(e.shape, 0, std * noise.latent, 'float32', noise.seed));
  }
  let h = tf.mul(tf.matMul(e, v.W, false, true), tf.matMul(e, v.V, false, true)); // (n, m)
  if (noise?.dropout) h = tf.dropout(h, noise.dropout, undefined, noise.seed + 2);
  return tf.matMul(h, v.P, false, true) as tf.Tensor2D; // (n, c)
}

export function disposeVariables(v: BilinearVariables): void {
  for (const x of variableList(v)) x.dispose();
}
