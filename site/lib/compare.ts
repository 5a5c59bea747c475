/**
 * Comparison words from data. A sentence that says "fewer" or "higher" is a claim; here the word is
 * chosen from the two numbers' 95% intervals, so prose can never say more than the data:
 *
 * - the same printed value: `same`;
 * - either number has an interval and the two ranges overlap: `unclear` ("no clear difference");
 *   a number without an interval counts as the single point it is;
 * - otherwise the side the first number lies on: `higher` or `lower`.
 *
 * Overlap of two 95% intervals is a conservative test (for equal widths, non-overlap means
 * p < 0.01); it ignores pairing by seed, which would only narrow the difference's interval.
 * Two numbers without intervals (single models) are compared as printed; the caller says so.
 */

/** What a comparison needs of a metric: its value, how it prints, and its interval when it has one. */
export interface Measured {
  value: number;
  display: string;
  interval?: { lo: number; hi: number } | undefined;
}

export type Comparison = 'higher' | 'lower' | 'same' | 'unclear';

/** The range a number stands for: its interval, or the point itself. */
function range(m: Measured): [number, number] {
  return m.interval ? [m.interval.lo, m.interval.hi] : [m.value, m.value];
}

/** How `a` stands against `b` (see the module comment for the rule). */
export function compare(a: Measured, b: Measured): Comparison {
  for (const m of [a, b])
    if (!Number.isFinite(m.value)) throw new Error(`cannot compare a non-finite value (${m.display})`);
  if (a.display === b.display) return 'same';
  const [aLo, aHi] = range(a);
  const [bLo, bHi] = range(b);
  if (aLo > bHi) return 'higher';
  if (aHi < bLo) return 'lower';
  // Overlapping ranges: two intervals (or a point inside one) that do not separate; two equal points.
  return hasInterval(a, b) ? 'unclear' : 'same';
}

/** Whether either side of a comparison carries an interval (else it is two single numbers). */
export function hasInterval(a: Measured, b: Measured): boolean {
  return a.interval !== undefined || b.interval !== undefined;
}

/** How an order between two things changes from one setting to another (a small ε to a large one). */
export type OrderChange = 'holds' | 'reverses' | 'fades' | 'appears' | 'none';

/**
 * `before` and `after` are the comparisons of the same two things in two settings: the order
 * holds, reverses (a clear difference turns the other way), fades (a clear difference is no longer
 * clear), appears (no clear difference becomes one), or there is none in either.
 */
export function orderChange(before: Comparison, after: Comparison): OrderChange {
  const decided = (c: Comparison) => c === 'higher' || c === 'lower';
  if (decided(before) && decided(after)) return before === after ? 'holds' : 'reverses';
  if (decided(before)) return 'fades';
  return decided(after) ? 'appears' : 'none';
}
