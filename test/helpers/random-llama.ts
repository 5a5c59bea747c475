/** Random Llama weights for tests, seeded. */
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
