/**
 * Paired comparisons of two models' held-out losses: both evaluated (train/evaluation.ts) on the
 * same examples, the difference example by example, so that what the examples share (a hard
 * story is hard for both models) cancels.
 */
import { requireTensor, type Artifact } from '../cache/artifact.ts';
import type { EvaluationMeta } from '../train/evaluation.ts';
import { tInterval, type Interval } from './stats.ts';

/**
 * Model a's loss minus model b's on the same held-out examples of `split`, example by example,
 * from two evaluations of one data artifact: the mean difference with its t interval over the
 * examples (each example's loss is its mean over its positions).
 */
export function pairedLossDifference(
  a: Artifact<EvaluationMeta>,
  b: Artifact<EvaluationMeta>,
  split: 'validation' | 'test',
): Interval {
  const [x, y] = [a, b].map(
    (e) => requireTensor(e, `${split}.loss`, `evaluation of ${e.meta.model}`).data as Float64Array,
  );
  if (x!.length !== y!.length)
    throw new Error(
      `paired losses: ${a.meta.model} has ${x!.length} ${split} examples, ${b.meta.model} ${y!.length}`,
    );
  return tInterval(Array.from(x!, (v, i) => v - y![i]!));
}
