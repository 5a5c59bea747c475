/**
 * A Llama-architecture transformer (the architecture of llama2.c's stories15M and of the paper's
 * §5–6 language models), with either MLP form:
 *
 *   x⁰ = embed[t]                                                   embed: (vocab, d)
 *   per layer l:  a = Attn(N(x, g_att))             causal, rotary, grouped-query when kv < heads
 *                 x ← x + Wo a
 *                 h = N(x, g_mlp)                   (+ latent noise while training)
 *                 x ← x + MLP(h)
 *   logits = U N(x, g_final)                                        U = embed when tied
 *
 *   N = RMSNorm(x, g) = g ⊙ x / √(mean(x²) + ε), as in Llama; with shape.norm 'none', N(x) = x
 *   and there are no gains: the paper's one-layer model (§5), in which a bilinear MLP's share of
 *   a token's logit, uᵀ MLP(x), is exactly the quadratic form xᵀ Q_u x of the residual stream.
 *   Latent noise (training only): h + N(0, (σ · std(h))²), std over the batch, read out as a
 *   constant of the step (as in the image models, the optimiser cannot shrink it by shrinking h).
 *   gated MLP:     W2 (Swish_β(W1 h) ⊙ W3 h),  Swish_β(z) = z·σ(βz)   (β = 1: SwiGLU; β = 0: z/2)
 *   bilinear MLP:  W2 ((W1 h) ⊙ (W3 h))
 *
 * β is the shape's `beta` unless the step's scalars name one (`beta`, a schedule while
 * finetuning). Attention per head: softmax(q kᵀ/√hs + causal mask) v, with q and k rotated by
 * position: the pair (x₂ᵢ, x₂ᵢ₊₁) of each head turns by angle pos·θ^(−2i/hs), θ = 10000, as in
 * llama2.c's run.c. Tensors are named by layer (`layers.3.w1`), in math layout (out, in).
 */
import * as tf from '@tensorflow/tfjs';
import { writeLlamaCheckpoint, type LlamaCheckpoint, type LlamaConfig } from '../data/llama-checkpoint.ts';
import { PipelineError } from '../errors.ts';
import type { Rng } from '../util/random.ts';
import {
  defineModel,
  paramTensors,
  type BilinearLayerParts,
  type ForwardOptions,
  type ForwardResult,
  type Generated,
  type LastMlpParts,
  type SampleSettings,
  type Weights,
} from './kind.ts';
import {
  betaOf,
  block,
  embedTokens,
  headSize,
  norm,
  normalized,
  unembedding,
  type LlamaShape,
} from './llama-block.ts';
import { rmsNorm } from './llama-ops.ts';
import { generate } from './llama-generate.ts';

export type { LlamaShape } from './llama-block.ts';

const WHOLE = ['vocab', 'dim', 'hidden', 'layers', 'heads', 'kvHeads', 'context'] as const;

function checkShape(raw: unknown): LlamaShape {
  const s = (raw ?? {}) as Partial<LlamaShape>;
  const bad = (what: string) => new PipelineError(`llama model: ${what}`, { exitCode: 2 });
  for (const name of WHOLE)
    if (!Number.isInteger(s[name]) || s[name]! < 1)
      throw bad(`shape.${name} must be a whole number ≥ 1, got ${JSON.stringify(s[name])}`);
  if (s.dim! % s.heads! !== 0 || (s.dim! / s.heads!) % 2 !== 0)
    throw bad(`shape.dim ${s.dim} must be heads (${s.heads}) × an even head size`);
  if (s.heads! % s.kvHeads! !== 0)
    throw bad(`shape.heads ${s.heads} must be a multiple of shape.kvHeads ${s.kvHeads}`);
  if (s.mlp !== 'gated' && s.mlp !== 'bilinear')
    throw bad(`shape.mlp must be 'gated' or 'bilinear', got ${JSON.stringify(s.mlp)}`);
  if (typeof s.tiedEmbeddings !== 'boolean') throw bad('shape.tiedEmbeddings must be true or false');
  for (const name of ['beta', 'normEps', 'ropeTheta'] as const)
    if (typeof s[name] !== 'number' || !Number.isFinite(s[name]))
      throw bad(`shape.${name} must be a finite number`);
  if (s.normEps! <= 0 || s.ropeTheta! <= 0) throw bad('shape.normEps and shape.ropeTheta must be positive');
  if (s.norm !== undefined && s.norm !== 'none')
    throw bad(
      `shape.norm must be 'none' (no normalisation) or absent (RMSNorm), got ${JSON.stringify(s.norm)}`,
    );
  return {
    vocab: s.vocab!,
    dim: s.dim!,
    hidden: s.hidden!,
    layers: s.layers!,
    heads: s.heads!,
    kvHeads: s.kvHeads!,
    context: s.context!,
    tiedEmbeddings: s.tiedEmbeddings,
    mlp: s.mlp,
    beta: s.beta!,
    normEps: s.normEps!,
    ropeTheta: s.ropeTheta!,
    ...(s.norm ? { norm: s.norm } : {}),
  };
}

function layout(s: LlamaShape): Record<string, number[]> {
  const hs = headSize(s);
  const out: Record<string, number[]> = { embed: [s.vocab, s.dim] };
  for (let l = 0; l < s.layers; l++) {
    Object.assign(out, {
      ...(normalized(s) ? { [`layers.${l}.attn_norm`]: [s.dim] } : {}),
      [`layers.${l}.wq`]: [s.heads * hs, s.dim],
      [`layers.${l}.wk`]: [s.kvHeads * hs, s.dim],
      [`layers.${l}.wv`]: [s.kvHeads * hs, s.dim],
      [`layers.${l}.wo`]: [s.dim, s.heads * hs],
      ...(normalized(s) ? { [`layers.${l}.mlp_norm`]: [s.dim] } : {}),
      [`layers.${l}.w1`]: [s.hidden, s.dim],
      [`layers.${l}.w2`]: [s.dim, s.hidden],
      [`layers.${l}.w3`]: [s.hidden, s.dim],
    });
  }
  if (normalized(s)) out['final_norm'] = [s.dim];
  if (!s.tiedEmbeddings) out['unembed'] = [s.vocab, s.dim];
  return out;
}

/**
 * llama2.c's and nanoGPT's initialisation: every matrix N(0, 0.02²), the two projections back
 * into the residual stream (wo, w2) scaled by 1/√(2·layers) so the residual's variance does not
 * grow with depth; norm gains 1. Drawn in layout order.
 */
function init(s: LlamaShape, rng: Rng): Weights {
  const residualStd = 0.02 / Math.sqrt(2 * s.layers);
  return Object.fromEntries(
    Object.entries(layout(s)).map(([name, dims]) => {
      const size = dims.reduce((a, b) => a * b, 1);
      if (dims.length === 1) return [name, new Float32Array(size).fill(1)];
      return [name, rng.normalArray(size, /\.(wo|w2)$/.test(name) ? residualStd : 0.02)];
    }),
  );
}

/**
 * The forward pass over whole windows: tokens (n, T) int32 → logits (n, T, vocab), with hooks
 * (each (n, T, ·)): `resid-pre.l` the residual stream entering layer l, `attn-out.l` and
 * `mlp-out.l` what layer l's attention and MLP add to it, `mlp-in.l` the MLP's input h (with
 * its latent noise while training), `mlp-hidden.l` its hidden activation, `resid-final` the
 * stream before the final norm. Without norms, resid-final = embed + Σ_l (attn-out.l + mlp-out.l).
 */
export function forwardLlama(
  s: LlamaShape,
  p: Record<string, tf.Tensor>,
  tokens: tf.Tensor,
  options: ForwardOptions = {},
): ForwardResult {
  const [n, T] = tokens.shape as [number, number];
  if (T > s.context)
    throw new PipelineError(
      `llama model: a window of ${T} tokens is longer than the model's context of ${s.context}`,
      { exitCode: 2 },
    );
  const wanted = new Set(options.hooks ?? []);
  const hooks: Record<string, tf.Tensor> = {};
  const keep = (name: string, t: tf.Tensor) => {
    if (wanted.has(name)) hooks[name] = tf.reshape(t, [n, T, -1]);
  };
  const context = { n, T, beta: betaOf(s, options), noise: options.noise, keep };
  let x = embedTokens(p, tokens); // (n·T, d)
  for (let l = 0; l < s.layers; l++) x = block(s, p, l, x, context);
  keep('resid-final', x);
  const logits = tf.matMul(norm(s, p, 'final_norm', x), unembedding(s, p), false, true);
  return { output: tf.reshape(logits, [n, T, s.vocab]), hooks };
}

export const llama = defineModel<LlamaShape>({
  name: 'llama',
  module: import.meta.url,
  checkShape,
  layout,
  init,
  hookPoints: ['resid-pre.*', 'attn-out.*', 'mlp-in.*', 'mlp-hidden.*', 'mlp-out.*', 'resid-final'],
  forward: forwardLlama,
  noises: ['latent'],
  scalars: ['beta'],
  // Matrices decay; norm gains do not (llama2.c's train.py: every tensor of rank ≥ 2).
  decays: (name) => !name.endsWith('_norm'),
  // 'mlp': every MLP's matrices and its norm's gain; attention, embeddings and the final norm held
  groups: { mlp: (name) => /^layers\.\d+\.(w1|w2|w3|mlp_norm)$/.test(name) },
  describe: (s) =>
    `Llama transformer, ${s.layers} layer${s.layers === 1 ? '' : 's'}, d = ` +
    `${s.dim}, ${s.heads} heads${s.kvHeads < s.heads ? ` (${s.kvHeads} kv)` : ''}, ` +
    `${s.mlp === 'bilinear' ? 'bilinear' : `gated (β = ${s.beta})`} MLP of ` +
    `width ${s.hidden}${normalized(s) ? '' : ', no normalisation'}, ` +
    `vocabulary ${s.vocab}, context ${s.context}`,
  layoutText:
    'x = embed[t]; per layer: x += wo·Attn(RMSNorm(x)·attn_norm) (causal, ' +
    'rotary θ = ropeTheta, pairs (2i, 2i+1)); h = RMSNorm(x)·mlp_norm; x += ' +
    'w2(Swish_β(w1 h) * (w3 h)) (gated) or w2((w1 h) * (w3 h)) (bilinear); ' +
    'logits = U(RMSNorm(x)·final_norm), U = unembed or embed when tied; with ' +
    'shape.norm "none" every RMSNorm(v)·g is v itself and the *_norm tensors ' +
    'are absent; matrices (out, in); no biases',
  bilinearLayers,
  sample,
  bilinearForm,
  checkpoint: {
    extension: 'bin',
    describe:
      "llama2.c's model.bin (its legacy format, which run.c reads); a negative hidden_dim marks a " +
      'bilinear MLP, which this project reads and run.c stops at (malloc failed) rather than run as SwiGLU',
    write: (s, w) => writeLlamaCheckpoint(llamaToCheckpoint(s, w)),
  },
  transformer: {
    sizes: (s) => ({ vocab: s.vocab, d: s.dim, layers: s.layers, heads: s.heads }),
    normalized,
    bilinearMlp: (s) => s.mlp === 'bilinear' || s.beta === 0,
    embedding: (_s, w) => w['embed']!,
    unembedding: (s, w) => foldGain(s.tiedEmbeddings ? w['embed']! : w['unembed']!, w['final_norm']),
    headOV,
    mlpLayer: (_s, l) => `layers.${l}.mlp`,
    mlpInput,
    mlpOutput: (s, p, ids, l) =>
      tf.reshape<tf.Rank.R2>(forwardLlama(s, p, ids, { hooks: [`mlp-out.${l}`] }).hooks[`mlp-out.${l}`]!, [
        -1,
        s.dim,
      ]),
    unitStream,
    lastMlpParts,
  },
});

/** A (rows, d) matrix with each column i scaled by gain[i] (no gain: the matrix itself). */
function foldGain(m: Float32Array, gain: Float32Array | undefined): Float32Array {
  return gain ? m.map((v, i) => v * gain[i % gain.length]!) : m;
}

/** Head h of layer l: W_V (hs, d) of its key/value head, attention gain folded in, and W_O (d, hs). */
function headOV(s: LlamaShape, w: Weights, l: number, h: number): { wv: Float32Array; wo: Float32Array } {
  const hs = headSize(s);
  const kv = Math.floor(h / (s.heads / s.kvHeads)); // grouped-query: heads share key/value heads
  const wv = w[`layers.${l}.wv`]!.subarray(kv * hs * s.dim, (kv + 1) * hs * s.dim); // (hs, d)
  const wo = w[`layers.${l}.wo`]!; // (d, heads·hs)
  const woHead = Float32Array.from({ length: s.dim * hs }, (_, k) => {
    const [i, j] = [Math.floor(k / hs), k % hs];
    return wo[i * s.heads * hs + h * hs + j]!;
  });
  return { wv: foldGain(wv, w[`layers.${l}.attn_norm`]), wo: woHead };
}

/**
 * The stream layer l's bilinear MLP reads, (n·T, d): x itself without normalisation (the forward
 * pass's own `mlp-in` activation), x / √(mean(x²) + ε) with it (its gain is folded into W1, W3).
 */
function mlpInput(s: LlamaShape, p: Record<string, tf.Tensor>, ids: tf.Tensor2D, l: number): tf.Tensor2D {
  const flat = (t: tf.Tensor) => tf.reshape<tf.Rank.R2>(t, [-1, s.dim]); // hooks are (n, T, d)
  if (!normalized(s)) return flat(forwardLlama(s, p, ids, { hooks: [`mlp-in.${l}`] }).hooks[`mlp-in.${l}`]!);
  const { hooks } = forwardLlama(s, p, ids, { hooks: [`resid-pre.${l}`, `attn-out.${l}`] });
  const x = tf.add(hooks[`resid-pre.${l}`]!, hooks[`attn-out.${l}`]!); // the stream before the MLP
  return rmsNorm(flat(x), null, s.normEps);
}

/** The last layer's MLP and the logits, taken apart as `TransformerView.lastMlpParts` says. */
function lastMlpParts(s: LlamaShape, p: Record<string, tf.Tensor>, ids: tf.Tensor2D): LastMlpParts {
  const l = s.layers - 1;
  const flat = (t: tf.Tensor) => tf.reshape<tf.Rank.R2>(t, [-1, t.shape[t.shape.length - 1]!]);
  const { output, hooks } = forwardLlama(s, p, ids, {
    hooks: [`resid-pre.${l}`, `attn-out.${l}`, 'resid-final'],
  });
  const stream = flat(tf.add(hooks[`resid-pre.${l}`]!, hooks[`attn-out.${l}`]!));
  const final = flat(hooks['resid-final']!);
  return {
    stream,
    input: normalized(s) ? rmsNorm(stream, null, s.normEps) : stream,
    scale: normalized(s)
      ? tf.reshape<tf.Rank.R1>(tf.rsqrt(tf.add(tf.mean(tf.square(final), -1), s.normEps)), [-1])
      : tf.ones([final.shape[0]]),
    logits: flat(output),
  };
}

/** Rows (rows, d) at unit RMS, x / √(mean(x²) + ε), as RMSNorm computes them before its gain. */
function unitStream(s: LlamaShape, rows: Float32Array): Float32Array {
  if (!normalized(s)) return rows;
  const d = s.dim;
  const out = new Float32Array(rows.length);
  for (let r = 0; r < rows.length / d; r++) {
    const row = rows.subarray(r * d, (r + 1) * d);
    const scale = 1 / Math.sqrt(row.reduce((sum, v) => sum + v * v, 0) / d + s.normEps);
    for (let i = 0; i < d; i++) out[r * d + i] = row[i]! * scale;
  }
  return out;
}

/** Continuations of prompts (llama-generate.ts: a key/value cache, greedy or nucleus sampling). */
function sample(s: LlamaShape, w: Weights, prompts: number[][], settings: SampleSettings): Generated {
  const p = llamaParams(s, w);
  const beta = settings.scalars?.['beta'];
  for (const name of Object.keys(settings.scalars ?? {}))
    if (name !== 'beta') throw new PipelineError(`a llama model reads no scalar '${name}' (it reads beta)`);
  try {
    return generate(beta === undefined ? s : { ...s, beta }, p, prompts, settings);
  } finally {
    tf.dispose(Object.values(p));
  }
}

/**
 * The MLPs that are exactly bilinear (every layer of a bilinear model; of a gated one only at
 * β = 0, where Swish_0(z) = z/2 puts ½ into the output matrix). The input is the residual stream
 * normalized to unit RMS, x/√(mean(x²) + ε), with the norm's gain folded into W1 and W3, so that
 * directions are read in the residual stream's own basis; without norms, the residual stream.
 */
function bilinearLayers(s: LlamaShape, w: Weights): BilinearLayerParts[] {
  if (s.mlp === 'gated' && s.beta !== 0) return [];
  const scale = s.mlp === 'gated' ? 0.5 : 1;
  return Array.from({ length: s.layers }, (_, l) => {
    const gain = w[`layers.${l}.mlp_norm`];
    const folded = (m: Float32Array) => (gain ? m.map((v, i) => v * gain[i % s.dim]!) : m);
    return {
      name: `layers.${l}.mlp`,
      input: gain
        ? `layer ${l} MLP input (normalized residual stream)`
        : `layer ${l} MLP input (the residual stream)`,
      output: 'residual stream',
      E: null,
      W: { data: folded(w[`layers.${l}.w1`]!), rows: s.hidden, cols: s.dim },
      V: { data: folded(w[`layers.${l}.w3`]!), rows: s.hidden, cols: s.dim },
      P: {
        data: scale === 1 ? w[`layers.${l}.w2`]! : w[`layers.${l}.w2`]!.map((v) => v * scale),
        rows: s.dim,
        cols: s.hidden,
      },
    };
  });
}

/**
 * A gated model at β = 0 written plainly bilinear: its MLP W2((W1 h)/2 ⊙ W3 h) is the bilinear
 * W2'((W1 h) ⊙ (W3 h)) with W2' = W2 / 2. Exactly the same function, bit for bit: halving a
 * float32 is exact (barring subnormals), and so is every product and sum that follows it.
 */
function bilinearForm(s: LlamaShape, w: Weights): { shape: LlamaShape; weights: Weights } {
  if (s.mlp === 'bilinear') return { shape: s, weights: w };
  if (s.beta !== 0)
    throw new PipelineError(
      `a llama model with a gated MLP at β = ${s.beta} is not bilinear; only β = 0 has a bilinear form`,
      { exitCode: 2 },
    );
  const weights = { ...w };
  for (let l = 0; l < s.layers; l++) weights[`layers.${l}.w2`] = w[`layers.${l}.w2`]!.map((v) => v / 2);
  return { shape: { ...s, mlp: 'bilinear', beta: 1 }, weights };
}

/**
 * The model as llama2.c's checkpoint arrays. run.c fixes what the format cannot say (RMSNorm with
 * ε = 1e-5, rotary θ = 10,000, a SiLU gate), so a shape that differs is refused by name; a
 * bilinear MLP is written with the format's flag (a negative hidden_dim).
 */
export function llamaToCheckpoint(s: LlamaShape, w: Weights): LlamaCheckpoint {
  const refuse = (what: string) =>
    new PipelineError(`llama2.c checkpoint: the model ${what}, which llama2.c's format cannot hold`, {
      exitCode: 2,
    });
  if (!normalized(s)) throw refuse('has no normalisation');
  if (s.normEps !== 1e-5) throw refuse(`has RMSNorm ε = ${s.normEps}, not 1e-5`);
  if (s.ropeTheta !== 10000) throw refuse(`has rotary θ = ${s.ropeTheta}, not 10000`);
  if (s.mlp === 'gated' && s.beta !== 1)
    throw refuse(
      `has a gated MLP at β = ${s.beta} (the format's gate is SiLU, β = 1; at β = 0 use its bilinear form)`,
    );
  const stacked = (name: string) => {
    const parts = Array.from({ length: s.layers }, (_, l) => w[`layers.${l}.${name}`]!);
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    config: {
      dim: s.dim,
      hidden: s.hidden,
      layers: s.layers,
      heads: s.heads,
      kvHeads: s.kvHeads,
      vocab: s.vocab,
      context: s.context,
      tiedEmbeddings: s.tiedEmbeddings,
      mlp: s.mlp,
    },
    arrays: {
      tokenEmbedding: w['embed']!,
      rmsAtt: stacked('attn_norm'),
      wq: stacked('wq'),
      wk: stacked('wk'),
      wv: stacked('wv'),
      wo: stacked('wo'),
      rmsFfn: stacked('mlp_norm'),
      w1: stacked('w1'),
      w2: stacked('w2'),
      w3: stacked('w3'),
      rmsFinal: w['final_norm']!,
      wcls: s.tiedEmbeddings ? w['embed']! : w['unembed']!,
    },
  };
}

/**
 * The shape of a llama2.c checkpoint with this configuration: its MLP gated (llama2.c's is
 * SwiGLU) at the given β, or bilinear when the file says so; RMSNorm ε and rotary θ as run.c
 * fixes them.
 */
export function llamaShapeOf(c: LlamaConfig, beta = 1): LlamaShape {
  return {
    vocab: c.vocab,
    dim: c.dim,
    hidden: c.hidden,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    context: c.context,
    tiedEmbeddings: c.tiedEmbeddings,
    mlp: c.mlp,
    beta,
    normEps: 1e-5,
    ropeTheta: 10000,
  };
}

/** A llama2.c checkpoint as this kind's shape and weights (its gated MLP at the given β, 1 = as trained). */
export function llamaFromCheckpoint(
  checkpoint: LlamaCheckpoint,
  beta = 1,
): { shape: LlamaShape; weights: Weights } {
  const c = checkpoint.config;
  const a = checkpoint.arrays;
  const shape = llamaShapeOf(c, beta);
  const sizes = layout(shape);
  const weights: Weights = { embed: a.tokenEmbedding, final_norm: a.rmsFinal };
  if (!c.tiedEmbeddings) weights['unembed'] = a.wcls;
  const perLayer = {
    attn_norm: a.rmsAtt,
    wq: a.wq,
    wk: a.wk,
    wv: a.wv,
    wo: a.wo,
    mlp_norm: a.rmsFfn,
    w1: a.w1,
    w2: a.w2,
    w3: a.w3,
  };
  for (let l = 0; l < c.layers; l++) {
    for (const [name, stacked] of Object.entries(perLayer)) {
      const size = sizes[`layers.${l}.${name}`]!.reduce((x, y) => x * y, 1);
      weights[`layers.${l}.${name}`] = stacked.subarray(l * size, (l + 1) * size);
    }
  }
  return { shape, weights };
}

/** Weights as tensors for this kind's forward pass (the caller disposes them). */
export function llamaParams(shape: LlamaShape, weights: Weights): Record<string, tf.Tensor> {
  return paramTensors(llama, shape, weights);
}
