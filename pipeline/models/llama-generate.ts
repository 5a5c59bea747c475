/**
 * Batched generation from a Llama model with a key/value cache: every sequence advances one
 * position per step, reading its prompt while it lasts (as llama2.c's run.c does) and then its own
 * samples, so that a step costs one token's work per sequence instead of a pass over the window.
 *
 * Sampling (separate from the model): temperature 0 is greedy (argmax); otherwise softmax(logits
 * / temperature), cut to the smallest set of tokens whose probability reaches top-p (nucleus
 * sampling), renormalized, and drawn with the sequence's own seeded stream, so the same seed gives
 * the same text on the same backend. A sequence ends at a stop token (by default BOS or EOS: TinyStories
 * models end a
 * story with BOS), or after `maxTokens` tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { PipelineError } from '../errors.ts';
import { Rng } from '../util/random.ts';
import type { Generated, SampleSettings } from './kind.ts';
import {
  betaOf,
  causalAttention,
  embedTokens,
  mlp,
  norm,
  repeatKv,
  ropeTables,
  rotate,
  unembedding,
  type LlamaShape,
} from './llama-block.ts';

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

/** One step for every sequence at position `pos`: logits (n, vocab) and the caches grown by one position. */
function step(
  shape: LlamaShape,
  p: Record<string, tf.Tensor>,
  tokens: Int32Array,
  pos: number,
  cache: { k: tf.Tensor; v: tf.Tensor }[],
  beta: number,
): { logits: tf.Tensor2D; cache: { k: tf.Tensor; v: tf.Tensor }[] } {
  const n = tokens.length;
  const hs = shape.dim / shape.heads;
  const rope = ropeTables(shape, pos, 1);
  let x = embedTokens(p, tf.tensor2d(tokens, [n, 1], 'int32')); // (n, d)
  const grown = cache.map((c, l) => {
    const a = norm(shape, p, `layers.${l}.attn_norm`, x);
    const heads = (w: string, count: number) =>
      tf.reshape(tf.matMul(a, p[`layers.${l}.${w}`] as tf.Tensor2D, false, true), [n, 1, count, hs]);
    const q = tf.transpose(rotate(heads('wq', shape.heads), rope), [0, 2, 1, 3]); // (n, H, 1, hs)
    const kNew = tf.transpose(rotate(heads('wk', shape.kvHeads), rope), [0, 2, 1, 3]); // (n, KV, 1, hs)
    const vNew = tf.transpose(heads('wv', shape.kvHeads), [0, 2, 1, 3]);
    const k = pos === 0 ? kNew : tf.concat([c.k, kNew], 2); // (n, KV, pos + 1, hs)
    const v = pos === 0 ? vNew : tf.concat([c.v, vNew], 2);
    const attended = tf.reshape<tf.Rank.R2>(
      causalAttention(q, repeatKv(k, shape.heads), repeatKv(v, shape.heads)),
      [n, shape.dim],
    );
    x = tf.add<tf.Tensor2D>(x, tf.matMul(attended, p[`layers.${l}.wo`] as tf.Tensor2D, false, true));
    x = tf.add<tf.Tensor2D>(x, mlp(p, l, norm(shape, p, `layers.${l}.mlp_norm`, x), shape.mlp, beta).out);
    return { k, v };
  });
  const logits = tf.matMul<tf.Tensor2D>(norm(shape, p, 'final_norm', x), unembedding(shape, p), false, true);
  return { logits, cache: grown };
}

/**
 * Continues each prompt (token ids, BOS first) by up to maxTokens tokens. Sequences that are done
 * leave the batch (their cache rows are dropped, a quarter of the batch at a time), so a batch's
 * last steps cost little more than the sequences still writing.
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
  /** The sequences in the batch, by their index in `prompts`; row r of every tensor is active[r]. */
  let active = prompts.map((_, i) => i);
  let cache = Array.from({ length: shape.layers }, () => ({ k: tf.zeros([0]), v: tf.zeros([0]) }));
  let current = Int32Array.from(prompts, (prompt) => prompt[0]!);
  const done = (i: number) => finished[i] || out[i]!.length >= settings.maxTokens;
  try {
    for (let pos = 0; pos < longest - 1 + settings.maxTokens && active.length > 0; pos++) {
      const result = tf.tidy(() => {
        const r = step(shape, p, current, pos, cache, beta);
        // Probabilities on the backend (its softmax is vectorised); logits for greedy decoding.
        const scores =
          settings.temperature === 0 ? r.logits : tf.softmax(tf.div(r.logits, settings.temperature));
        return {
          scores: scores as tf.Tensor2D,
          cache: r.cache.map((c) => ({ k: tf.keep(c.k), v: tf.keep(c.v) })),
        };
      });
      tf.dispose(cache.flatMap((c) => [c.k, c.v]));
      cache = result.cache;
      const scores = result.scores.dataSync() as Float32Array;
      result.scores.dispose();
      active.forEach((i, r) => {
        const prompt = prompts[i]!;
        if (pos + 1 < prompt.length) {
          current[r] = prompt[pos + 1]!;
          return;
        }
        if (done(i)) return; // waits in the batch until enough others are done to drop them together
        const row = scores.subarray(r * shape.vocab, (r + 1) * shape.vocab);
        const next =
          settings.temperature === 0 ? argmax(row) : nucleusDraw(row, settings.topP, streams[i]!.uniform());
        if (stop.has(next)) finished[i] = true;
        else out[i]!.push(next);
        current[r] = next;
      });
      onStep?.(pos);
      const keep = active.flatMap((i, r) => (pos + 1 < prompts[i]!.length || !done(i) ? [r] : []));
      // Dropping rows copies every cache, so it waits until a quarter of the batch is done.
      if (keep.length === 0 || active.length - keep.length >= Math.max(1, active.length / 4)) {
        cache = dropRows(cache, keep);
        current = Int32Array.from(keep, (r) => current[r]!);
        active = keep.map((r) => active[r]!);
      }
    }
  } finally {
    tf.dispose(cache.flatMap((c) => [c.k, c.v]));
  }
  return { tokens: out, finished };
}

/** The caches with only the batch rows `keep`. */
function dropRows(cache: { k: tf.Tensor; v: tf.Tensor }[], keep: number[]): { k: tf.Tensor; v: tf.Tensor }[] {
  const next = tf.tidy(() => {
    const rows = tf.tensor1d(keep, 'int32');
    return cache.map((c) => ({ k: tf.keep(tf.gather(c.k, rows)), v: tf.keep(tf.gather(c.v, rows)) }));
  });
  tf.dispose(cache.flatMap((c) => [c.k, c.v]));
  return next;
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

/** One token from logits: argmax at temperature 0, else a nucleus draw from softmax(logits / T). */
export function sampleToken(
  logits: Float32Array,
  s: Pick<SampleSettings, 'temperature' | 'topP'>,
  rng: Rng,
): number {
  if (s.temperature === 0) return argmax(logits);
  return nucleusDraw(softmax(logits, s.temperature), s.topP, rng.uniform());
}

function softmax(logits: Float32Array, temperature: number): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += probs[i] = Math.exp((logits[i]! - max) / temperature);
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  return probs;
}

/** The token at which the cumulative probability of `order` passes u · total. */
function drawFrom(probs: ArrayLike<number>, order: number[], total: number, u: number): number {
  const target = u * total;
  let cumulative = 0;
  for (const i of order) {
    cumulative += probs[i]!;
    if (target < cumulative) return i;
  }
  return order.at(-1)!;
}
