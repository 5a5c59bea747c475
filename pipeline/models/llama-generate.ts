/**
 * Batched generation from a Llama model with a key/value cache (kv-cache.ts): every sequence
 * advances one position per step through the same blocks as training's forward pass, reading its
 * prompt while it lasts (as llama2.c's run.c does) and then its own samples, so that a step costs
 * one token's work per sequence instead of a pass over the window.
 *
 * Sampling (separate from the model): temperature 0 is greedy (argmax); otherwise softmax(logits
 * / temperature) (float32, on the backend), cut to the smallest set of tokens whose probability
 * reaches top-p (nucleus sampling, its sums in float64), renormalized, and drawn with the
 * sequence's own seeded stream, so the same seed gives the same text on the same backend. A
 * sequence ends at a stop token (by default BOS or EOS: TinyStories models end a story with BOS),
 * or after `maxTokens` tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { PipelineError } from '../errors.ts';
import { Rng } from '../util/random.ts';
import type { Generated, SampleSettings } from './kind.ts';
import { KvCache } from './kv-cache.ts';
import { betaOf, block, embedTokens, norm, ropeOf, unembedding, type LlamaShape } from './llama-block.ts';
import { heapView, nativeKernels } from '../native/heap.ts';

export const BOS = 1;
export const EOS = 2;

export type { Generated, SampleSettings } from './kind.ts';

function checkSettings(s: SampleSettings, shape: LlamaShape, longestPrompt: number): void {
  const bad = (what: string) => new PipelineError(`sampling: ${what}`, { exitCode: 2 });
  if (!(s.temperature >= 0 && Number.isFinite(s.temperature)))
    throw bad(`temperature must be a finite number ≥ 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw bad(`top-p must be in (0, 1], got ${s.topP}`);
  if (!Number.isInteger(s.maxTokens) || s.maxTokens < 1)
    throw bad(`maxTokens must be a whole number ≥ 1, got ${s.maxTokens}`);
  if (longestPrompt + s.maxTokens > shape.context)
    throw bad(
      `a prompt of ${longestPrompt} tokens and ${s.maxTokens} new ones exceed ` +
        `the context of ${shape.context}`,
    );
}

/** One position for every sequence in the batch: tokens (n) at `pos` → logits (n, vocab); the cache grows by it. */
function step(
  shape: LlamaShape,
  p: Record<string, tf.Tensor>,
  tokens: Int32Array,
  pos: number,
  kv: KvCache,
  beta: number,
): tf.Tensor2D {
  const n = tokens.length;
  let x = embedTokens(p, tf.tensor2d(tokens, [n, 1], 'int32')); // (n, d)
  for (let l = 0; l < shape.layers; l++) x = block(shape, p, l, x, { n, T: 1, beta, cache: { kv, pos } });
  return tf.matMul<tf.Tensor2D>(norm(shape, p, 'final_norm', x), unembedding(shape, p), false, true);
}

/**
 * Continues each prompt (token ids, BOS first) by up to maxTokens tokens. A sequence leaves the
 * batch at the step it finishes (its cache slot is simply no longer read), so a batch's last
 * steps cost only the sequences still writing.
 */
export function generate(
  shape: LlamaShape,
  p: Record<string, tf.Tensor>,
  prompts: number[][],
  settings: SampleSettings,
  onStep?: (pos: number) => void,
): Generated {
  if (prompts.length === 0) return { tokens: [], finished: [] };
  if (prompts.some((prompt) => prompt.length === 0))
    throw new PipelineError('sampling: every prompt needs at least one token (BOS)', { exitCode: 2 });
  const longest = Math.max(...prompts.map((prompt) => prompt.length));
  checkSettings(settings, shape, longest);
  // One stream per sequence: a sequence's draws do not depend on how many others share its batch.
  const streams = prompts.map((_, i) => new Rng(settings.seed * 7919 + i));
  const stop = new Set(settings.stop ?? [BOS, EOS]);
  const out: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  const beta = betaOf(shape, {});
  const positions = longest - 1 + settings.maxTokens;
  const kv = new KvCache(shape.layers, prompts.length, shape.heads, shape.kvHeads, positions, ropeOf(shape));
  /** The sequences in the batch, by their index in `prompts`; row r of every tensor is active[r]. */
  let active = prompts.map((_, i) => i);
  let current = Int32Array.from(prompts, (prompt) => prompt[0]!);
  const done = (i: number) => finished[i] || out[i]!.length >= settings.maxTokens;
  for (let pos = 0; pos < positions && active.length > 0; pos++) {
    // A draw only for the sequences past their prompts: each stream advances once per token it samples.
    const sampling = active.map((i) => pos + 1 >= prompts[i]!.length);
    const uniforms = Float64Array.from(active, (i, r) =>
      sampling[r] && settings.temperature > 0 ? streams[i]!.uniform() : 0,
    );
    const logits = tf.tidy(() => step(shape, p, current, pos, kv, beta));
    const next = sampleRows(logits, settings, uniforms);
    logits.dispose();
    active.forEach((i, r) => {
      if (!sampling[r]) current[r] = prompts[i]![pos + 1]!;
      else if (stop.has(next[r]!)) finished[i] = true;
      else {
        out[i]!.push(next[r]!);
        current[r] = next[r]!;
      }
    });
    onStep?.(pos);
    const keep = active.flatMap((i, r) => (pos + 1 < prompts[i]!.length || !done(i) ? [r] : []));
    if (keep.length < active.length) {
      kv.keepRows(keep);
      current = Int32Array.from(keep, (r) => current[r]!);
      active = keep.map((r) => active[r]!);
    }
  }
  return { tokens: out, finished };
}

/**
 * A token per row of logits (n, vocab): argmax at temperature 0, else a nucleus draw from
 * softmax(logits / temperature), computed on the backend (vectorised there); the draw natively or
 * with nucleusDraw, the same selection.
 */
export function sampleRows(
  logits: tf.Tensor2D,
  s: Pick<SampleSettings, 'temperature' | 'topP'>,
  uniforms: Float64Array,
): Int32Array {
  const [n, vocab] = logits.shape;
  // At temperature 1 the division is skipped: dividing by 1 changes no bit.
  const scores =
    s.temperature === 0
      ? logits
      : tf.tidy(() => tf.softmax(s.temperature === 1 ? logits : tf.div<tf.Tensor2D>(logits, s.temperature)));
  const next = new Int32Array(n);
  try {
    const addon = nativeKernels();
    if (addon) {
      addon.sampleRows(
        heapView(scores) as Float32Array,
        n,
        vocab,
        s.temperature === 0 ? 0 : s.topP,
        uniforms,
        next,
      );
      return next;
    }
    const all = scores.dataSync() as Float32Array;
    for (let r = 0; r < n; r++) {
      const row = all.subarray(r * vocab, (r + 1) * vocab);
      next[r] = s.temperature === 0 ? argmax(row) : nucleusDraw(row, s.topP, uniforms[r]!);
    }
    return next;
  } finally {
    if (scores !== logits) scores.dispose();
  }
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * A draw from probabilities cut to the nucleus: the most probable tokens until their mass exceeds
 * top-p (llama2.c's sample_topp), renormalized; u uniform in [0, 1).
 */
export function nucleusDraw(probs: ArrayLike<number>, topP: number, u: number): number {
  if (topP >= 1)
    return drawFrom(
      probs,
      Array.from({ length: probs.length }, (_, i) => i),
      1,
      u,
    );
  // Tokens below (1 − p)/(V − 1) cannot be in the nucleus: dropping them first saves sorting 32,000.
  const cutoff = (1 - topP) / (probs.length - 1);
  const candidates: number[] = [];
  for (let i = 0; i < probs.length; i++) if (probs[i]! >= cutoff) candidates.push(i);
  candidates.sort((a, b) => probs[b]! - probs[a]! || a - b);
  let mass = 0;
  let last = candidates.length - 1;
  for (let j = 0; j < candidates.length; j++) {
    mass += probs[candidates[j]!]!;
    if (mass > topP) {
      last = j;
      break;
    }
  }
  const kept = candidates.slice(0, last + 1);
  return drawFrom(
    probs,
    kept,
    kept.reduce((sum, i) => sum + probs[i]!, 0),
    u,
  );
}

/** The token at which the cumulative probability of `order` passes u · total. */
function drawFrom(probs: ArrayLike<number>, order: number[], total: number, u: number): number {
  const target = u * total;
  let cumulative = 0;
  for (const i of order) {
    cumulative += probs[i]!;
    if (target < cumulative) return i;
  }
  if (!(cumulative > 0 && Number.isFinite(cumulative)))
    throw new PipelineError(
      'sampling: the probabilities are not finite (the model gave NaN or infinite logits)',
      { exitCode: 1 },
    );
  return order.at(-1)!; // u · total rounded past the last cumulative sum
}
