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
import { PipelineError } from '../errors.ts';
import { gaussian } from '../native/noise.ts';
import { defineModel, type ForwardOptions, type ForwardResult, type Weights } from './kind.ts';

export type BilinearShape = {
  /** Input dimension (784 for 28×28 images). */
  input: number;
  /** Embedding dimension d, or null for no embedding (then d = input). */
  embed: number | null;
  /** Hidden (bilinear) dimension m. */
  hidden: number;
  /** Number of classes c. */
  classes: number;
};

export function embedDim(shape: BilinearShape): number {
  return shape.embed ?? shape.input;
}

function checkShape(raw: unknown): BilinearShape {
  const s = raw as Partial<BilinearShape> | null;
  const whole = (name: keyof BilinearShape, value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new PipelineError(
        `bilinear classifier: shape.${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`,
        { exitCode: 2 },
      );
    }
  };
  if (typeof s !== 'object' || s === null)
    throw new PipelineError('bilinear classifier: shape must be an object {input, embed, hidden, classes}', {
      exitCode: 2,
    });
  whole('input', s.input);
  whole('hidden', s.hidden);
  whole('classes', s.classes);
  if (s.embed !== null) whole('embed', s.embed);
  return { input: s.input!, embed: s.embed ?? null, hidden: s.hidden!, classes: s.classes! };
}

function layout(shape: BilinearShape): Record<string, number[]> {
  const d = embedDim(shape);
  return {
    ...(shape.embed === null ? {} : { E: [d, shape.input] }),
    W: [shape.hidden, d],
    V: [shape.hidden, d],
    P: [shape.classes, shape.hidden],
  };
}

/**
 * Seeded initialisation, N(0, 1/fan_in) for every matrix (the variance-preserving choice for
 * each linear map; the bilinear product then starts with O(1) activations). Drawn in the order
 * E, W, V, P.
 */
function init(shape: BilinearShape, rng: { normalArray(n: number, std?: number): Float32Array }): Weights {
  const d = embedDim(shape);
  return {
    ...(shape.embed === null ? {} : { E: rng.normalArray(d * shape.input, 1 / Math.sqrt(shape.input)) }),
    W: rng.normalArray(shape.hidden * d, 1 / Math.sqrt(d)),
    V: rng.normalArray(shape.hidden * d, 1 / Math.sqrt(d)),
    P: rng.normalArray(shape.classes * shape.hidden, 1 / Math.sqrt(shape.hidden)),
  };
}

/**
 * logits = P((W e) ⊙ (V e)), e = E x, for a batch x: (n, in) → (n, c). While training: input
 * noise on the pixels, latent noise on e (the paper's §3, scaled by the batch's own std of e),
 * dropout on h (units kept are scaled by 1/(1 − rate), so evaluation needs no rescaling).
 */
function forward(
  _shape: BilinearShape,
  p: Record<string, tf.Tensor>,
  x: tf.Tensor,
  options: ForwardOptions = {},
): ForwardResult {
  const noise = options.noise;
  const xin = noise?.input ? tf.add(x, tf.tensor(gaussian(x.size, noise.input, noise.seed + 1), x.shape)) : x;
  let e = (p['E'] ? tf.matMul(xin, p['E'], false, true) : xin) as tf.Tensor2D; // (n, d)
  if (noise && noise.latent > 0) {
    // The scale is read out as a number, so it is a constant of the step: the noise sends no
    // gradient through std(e) (the optimiser cannot shrink the noise by shrinking e's spread).
    const std = tf.tidy(() => tf.sqrt(tf.moments(e).variance).dataSync()[0]!);
    e = tf.add(e, tf.tensor(gaussian(e.size, std * noise.latent, noise.seed), e.shape));
  }
  let h = tf.mul<tf.Tensor2D>(
    tf.matMul(e, p['W'] as tf.Tensor2D, false, true),
    tf.matMul(e, p['V'] as tf.Tensor2D, false, true),
  ); // (n, m)
  if (noise?.dropout) h = tf.dropout(h, noise.dropout, undefined, noise.seed + 2) as tf.Tensor2D;
  const output = tf.matMul(h, p['P'] as tf.Tensor2D, false, true); // (n, c)
  const hooks: Record<string, tf.Tensor> = {};
  if (options.hooks?.includes('embed')) hooks['embed'] = e;
  if (options.hooks?.includes('hidden')) hooks['hidden'] = h;
  return { output, hooks };
}

export const bilinearClassifier = defineModel<BilinearShape>({
  name: 'bilinear-classifier',
  module: import.meta.url,
  checkShape,
  layout,
  init,
  hookPoints: ['embed', 'hidden'],
  noises: ['input', 'latent', 'dropout'],
  scalars: [],
  forward,
  // The paper decays every matrix (§4); there are no biases or norms to exempt.
  decays: () => true,
  describe: (s) => `bilinear classifier ${s.input} → ${embedDim(s)} → ${s.hidden} → ${s.classes}`,
  layoutText: 'e = E x (E: d×in, optional); h = (W e) * (V e) (W, V: m×d); logits = P h (P: c×m); no biases',
  bilinearLayers(shape, w) {
    const d = embedDim(shape);
    const m = (data: Float32Array, rows: number, cols: number) => ({ data, rows, cols });
    return [
      {
        name: 'layer',
        input: shape.embed === null ? 'input' : 'input (through E)',
        output: 'logits',
        E: w['E'] ? m(w['E'], d, shape.input) : null,
        W: m(w['W']!, shape.hidden, d),
        V: m(w['V']!, shape.hidden, d),
        P: m(w['P']!, shape.classes, shape.hidden),
      },
    ];
  },
});
