/**
 * A bilinear bigram language model: each position reads only its own token, through one bilinear
 * MLP in the residual stream (the MLP of the paper's §5 language models, without attention):
 *
 *   x = embed[t]                          embed: (vocab, d)
 *   r = x + O ((W x) ⊙ (V x))             W, V: (m, d), O: (d, m)
 *   logits = U r                          U: (vocab, d)
 *
 * The MLP is the model's one bilinear layer, from the residual stream to the residual stream:
 * for an output token t its direction is u = U[t] (a row of the unembedding), and
 * uᵀ MLP(x) = xᵀ Q_u x with Q_u = Σ_k (Oᵀu)_k sym(w_k v_kᵀ). It is small enough to train in a
 * test and checks that a second kind of model, on a second task, goes through the same trainer,
 * decomposition and emitter unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { PipelineError } from '../errors.ts';
import { gaussian } from '../native/noise.ts';
import { defineModel, type ForwardOptions, type ForwardResult, type Weights } from './kind.ts';

export type BigramShape = {
  vocab: number;
  /** Residual width d. */
  d: number;
  /** MLP hidden width m. */
  hidden: number;
};

function checkShape(raw: unknown): BigramShape {
  const s = (raw ?? {}) as Partial<BigramShape>;
  for (const name of ['vocab', 'd', 'hidden'] as const) {
    if (!Number.isInteger(s[name]) || s[name]! < 1)
      throw new PipelineError(
        `bilinear bigram model: shape.${name} must be a whole number ≥ 1, got ${JSON.stringify(s[name])}`,
        { exitCode: 2 },
      );
  }
  return { vocab: s.vocab!, d: s.d!, hidden: s.hidden! };
}

const layout = (s: BigramShape): Record<string, number[]> => ({
  embed: [s.vocab, s.d],
  W: [s.hidden, s.d],
  V: [s.hidden, s.d],
  O: [s.d, s.hidden],
  U: [s.vocab, s.d],
});

/** N(0, 1/fan_in) for every matrix; the embedding N(0, 1), so the residual starts at unit scale. */
function init(s: BigramShape, rng: { normalArray(n: number, std?: number): Float32Array }): Weights {
  return {
    embed: rng.normalArray(s.vocab * s.d, 1),
    W: rng.normalArray(s.hidden * s.d, 1 / Math.sqrt(s.d)),
    V: rng.normalArray(s.hidden * s.d, 1 / Math.sqrt(s.d)),
    O: rng.normalArray(s.d * s.hidden, 1 / Math.sqrt(s.hidden)),
    U: rng.normalArray(s.vocab * s.d, 1 / Math.sqrt(s.d)),
  };
}

/** tokens (n, T) int32 → logits (n, T, vocab); latent noise on the MLP's input while training. */
function forward(
  _shape: BigramShape,
  p: Record<string, tf.Tensor>,
  tokens: tf.Tensor,
  options: ForwardOptions = {},
): ForwardResult {
  const [n, T] = tokens.shape as [number, number];
  const vocab = p['embed']!.shape[0];
  // A one-hot product rather than gather: gather's gradient (UnsortedSegmentSum) has no wasm
  // kernel, and at this vocabulary size the product is cheap.
  // (n·T, vocab)
  const oneHot = tf.oneHot(tf.reshape<tf.Rank.R1>(tokens, [-1]), vocab).toFloat() as tf.Tensor2D;
  const x = tf.matMul(oneHot, p['embed'] as tf.Tensor2D); // (n·T, d)
  let xin = x;
  const noise = options.noise;
  if (noise && noise.latent > 0) {
    const std = tf.tidy(() => tf.sqrt(tf.moments(x).variance).dataSync()[0]!);
    xin = tf.add(x, tf.tensor(gaussian(x.size, std * noise.latent, noise.seed), x.shape));
  }
  let h = tf.mul<tf.Tensor2D>(
    tf.matMul(xin, p['W'] as tf.Tensor2D, false, true),
    tf.matMul(xin, p['V'] as tf.Tensor2D, false, true),
  ); // (n·T, m)
  if (noise?.dropout) h = tf.dropout(h, noise.dropout, undefined, noise.seed + 2) as tf.Tensor2D;
  const mlp = tf.matMul(h, p['O'] as tf.Tensor2D, false, true); // (n·T, d)
  const r = tf.add<tf.Tensor2D>(x, mlp);
  const logits = tf.reshape(tf.matMul(r, p['U'] as tf.Tensor2D, false, true), [n, T, -1]); // (n, T, vocab)
  const hooks: Record<string, tf.Tensor> = {};
  const shaped = (t: tf.Tensor) => tf.reshape(t, [n, T, -1]);
  if (options.hooks?.includes('resid-pre')) hooks['resid-pre'] = shaped(x);
  if (options.hooks?.includes('mlp-hidden')) hooks['mlp-hidden'] = shaped(h);
  if (options.hooks?.includes('mlp-out')) hooks['mlp-out'] = shaped(mlp);
  return { output: logits, hooks };
}

export const bilinearBigram = defineModel<BigramShape>({
  name: 'bilinear-bigram',
  module: import.meta.url,
  checkShape,
  layout,
  init,
  hookPoints: ['resid-pre', 'mlp-hidden', 'mlp-out'],
  noises: ['latent', 'dropout'],
  scalars: [],
  forward,
  // The usual language-model choice: decay the MLP, not the embedding or the unembedding.
  decays: (name) => name === 'W' || name === 'V' || name === 'O',
  describe: (s) => `bilinear bigram model, vocabulary ${s.vocab}, d = ${s.d}, MLP width ${s.hidden}`,
  layoutText:
    'x = embed[t] (embed: vocab×d); r = x + O((W x) * (V x)) (W, V: m×d, O: ' +
    'd×m); logits = U r (U: vocab×d); no biases',
  bilinearLayers: (s, w) => [
    {
      name: 'mlp',
      input: 'residual stream',
      output: 'residual stream',
      E: null,
      W: { data: w['W']!, rows: s.hidden, cols: s.d },
      V: { data: w['V']!, rows: s.hidden, cols: s.d },
      P: { data: w['O']!, rows: s.d, cols: s.hidden },
    },
  ],
});
