/** Summary statistics shared by the analyses. */
import { PipelineError } from '../errors.ts';

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/**
 * Mean and 95% interval of per-unit values (normal approximation, mean ± 1.96 s/√n, with the
 * sample standard deviation s). One value gives a zero-width interval.
 */
export function interval(values: number[]): Interval {
  const n = values.length;
  if (n === 0) throw new PipelineError('an interval needs at least one value');
  if (values.some((x) => !Number.isFinite(x))) throw new PipelineError(`an interval of non-finite values (${values.join(', ')})`);
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const half = (1.96 * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half, n };
}
