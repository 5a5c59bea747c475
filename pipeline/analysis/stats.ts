/**
 * Intervals, one module for every figure and narrative (methods page "Statistics"). Each interval
 * says how it was made and from how many independent units, so a figure can state both:
 *
 * - `tInterval`: mean ± t_{n−1, 0.975} · s/√n over independent units (seeds, target classes).
 *   With 3 seeds the t quantile (4.30) is far from the normal 1.96, which is the point.
 * - `nestedInterval`: randomness nested in units (random draws within a seed's model, other
 *   classes within a target class) is averaged within each unit first, then a t interval is taken
 *   over the unit means. Draws are never pooled as if independent: that would count a model's
 *   draws as new models and shrink the interval by √draws.
 * - `pairInterval`: a statistic of pairs of distinct seeds (cross-seed similarity) averaged over all
 *   pairs is a U-statistic; pairs sharing a seed are dependent, so the interval comes from the
 *   leave-one-seed-out jackknife (variance (n−1)/n Σ (θ₍ᵢ₎ − θ̄₍.₎)², t with n − 1 degrees of
 *   freedom). For pair values (x_i + x_j)/2 it reduces exactly to the t interval of the x_i (tested).
 *
 * One rule for all three: no interval from fewer than `MIN_UNITS` (3) units. With 2 the t quantile
 * is 12.71 and the interval says only that two numbers differ; with 2 seeds there is one pair and
 * no jackknife. Too few units give lo and hi null: figures draw no band, prose prints the value
 * alone, and the emitted data refuse an interval over fewer (emit/schema.ts).
 */
import quantile from '@stdlib/stats-base-dists-t-quantile';
import { PipelineError } from '../errors.ts';

/** How an interval was made, as data files record it (the methods page, "Statistics", says each). */
export type IntervalMethod = 't' | 'nested' | 'jackknife';

export interface Interval {
  mean: number;
  /** Bounds of the 95% interval; null when there are too few units for one. */
  lo: number | null;
  hi: number | null;
  /** Independent units the interval is over (seeds, target classes); pairs are not units. */
  n: number;
  method: IntervalMethod;
}

export const LEVEL = 0.95;

/** The fewest independent units an interval is drawn from, anywhere on the site. */
export const MIN_UNITS = 3;

/** The two-sided critical value t_{df, (1 + level)/2}. */
export function tCritical(df: number, level = LEVEL): number {
  if (!Number.isInteger(df) || df < 1)
    throw new PipelineError(`a t quantile needs whole degrees of freedom ≥ 1, got ${df}`);
  return quantile((1 + level) / 2, df);
}

function checkFinite(values: number[], what: string): void {
  if (values.length === 0) throw new PipelineError(`${what} needs at least one value`);
  const bad = values.find((x) => !Number.isFinite(x));
  if (bad !== undefined)
    throw new PipelineError(
      `${what} of non-finite values (${values.join(', ')}): a run or an analysis produced ${bad}`,
    );
}

/** The arithmetic mean (NaN for no values). */
export function mean(values: number[]): number {
  return values.reduce((s, x) => s + x, 0) / values.length;
}

function withHalfWidth(m: number, half: number | null, n: number, method: IntervalMethod): Interval {
  return half === null
    ? { mean: m, lo: null, hi: null, n, method }
    : { mean: m, lo: m - half, hi: m + half, n, method };
}

/** Mean and 95% t interval of independent values. */
export function tInterval(values: number[]): Interval {
  checkFinite(values, 'an interval');
  const n = values.length;
  const m = mean(values);
  if (n < MIN_UNITS) return withHalfWidth(m, null, n, 't');
  const sd = Math.sqrt(values.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  return withHalfWidth(m, (tCritical(n - 1) * sd) / Math.sqrt(n), n, 't');
}

/** Draws nested in units: the mean of each unit's draws, then a t interval over units. */
export function nestedInterval(groups: number[][]): Interval {
  if (groups.length === 0) throw new PipelineError('a nested interval needs at least one unit');
  groups.forEach((g, i) => checkFinite(g, `unit ${i} of a nested interval`));
  return { ...tInterval(groups.map(mean)), method: 'nested' };
}

/**
 * Mean over all pairs i < j of n seeds of `value(i, j)`, with a leave-one-seed-out jackknife
 * interval. `value` is called once per pair.
 */
export function pairInterval(n: number, value: (i: number, j: number) => number): Interval {
  if (!Number.isInteger(n) || n < 2)
    throw new PipelineError(`a statistic of seed pairs needs at least 2 seeds, got ${n}`);
  const table: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(Number.NaN));
  const all: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = value(i, j);
      table[i]![j] = table[j]![i] = v;
      all.push(v);
    }
  }
  checkFinite(all, 'a statistic of seed pairs');
  const m = mean(all);
  if (n < MIN_UNITS) return withHalfWidth(m, null, n, 'jackknife');
  // θ₍ᵢ₎: the mean over the pairs that do not involve seed i.
  const leaveOut = Array.from({ length: n }, (_, i) => {
    const rest: number[] = [];
    for (let a = 0; a < n; a++)
      for (let b = a + 1; b < n; b++) if (a !== i && b !== i) rest.push(table[a]![b]!);
    return mean(rest);
  });
  const centre = mean(leaveOut);
  const variance = ((n - 1) / n) * leaveOut.reduce((s, x) => s + (x - centre) ** 2, 0);
  return withHalfWidth(m, tCritical(n - 1) * Math.sqrt(variance), n, 'jackknife');
}

/** An interval's bounds clamped to [lo, hi] (shares, similarities), keeping null as null. */
export function clamped(iv: Interval, lo: number, hi: number): Interval {
  const clamp = (x: number | null) => (x === null ? null : Math.min(hi, Math.max(lo, x)));
  return { ...iv, lo: clamp(iv.lo), hi: clamp(iv.hi) };
}
