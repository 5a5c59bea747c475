/** Random Llama weights for tests, seeded, and a tiny gated model with token windows to train it on. */
import { tokenWindows, type TokenSplits } from '../../pipeline/data/tokens.ts';
import type { Weights } from '../../pipeline/models/kind.ts';
import type { LlamaShape } from '../../pipeline/models/llama-block.ts';
import { llama } from '../../pipeline/models/llama.ts';
import { Rng } from '../../pipeline/util/random.ts';

/**
 * Every tensor of the layout, at a scale where attention and the gate are far from linear:
 * matrices N(0, 0.4²), norm gains uniform in [0.5, 1.5).
 */
export function randomLlamaWeights(shape: LlamaShape, seed: number): Weights {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(llama.layout(shape)).map(([name, dims]) => {
      const size = dims.reduce((a, b) => a * b, 1);
      return [
        name,
        dims.length === 1
          ? Float32Array.from({ length: size }, () => 0.5 + rng.uniform())
          : rng.normalArray(size, 0.4),
      ];
    }),
  );
}

/** A two-layer gated model small enough to finetune in a test. */
export const TINY_GATED: LlamaShape = {
  vocab: 17,
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  context: 6,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};

/** Seeded random token windows for TINY_GATED: 16 training, 4 validation, 4 test. */
export function tinySplits(): TokenSplits {
  const rng = new Rng(4);
  const { vocab, context } = TINY_GATED;
  const make = (n: number) =>
    tokenWindows(
      Int32Array.from({ length: n * (context + 1) }, () => rng.int(vocab)),
      n,
      context,
      vocab,
      'fixture',
    );
  return { train: make(16), validation: make(4), test: make(4), vocabSize: vocab };
}
