/**
 * Closeness checks for numeric tests. Unlike helpers that treat NaN as close to NaN, these fail
 * on any non-finite value, so a NaN never passes for a result.
 */
import assert from 'node:assert/strict';

/** |actual − expected| ≤ atol + rtol·|expected|, element-wise; fails on NaN or Infinity. */
export function assertClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  { atol = 0, rtol = 0, label = 'value' }: { atol?: number; rtol?: number; label?: string },
): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${label}: length ${a.length}, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Number.isFinite(a[i]) && Number.isFinite(e[i]),
      `${label}[${i}]: non-finite (${a[i]} vs ${e[i]})`,
    );
    const tol = atol + rtol * Math.abs(e[i]!);
    assert.ok(
      Math.abs(a[i]! - e[i]!) <= tol,
      `${label}[${i}]: ${a[i]} differs from ${e[i]} by ${Math.abs(a[i]! - e[i]!)} > ${tol}`,
    );
  }
}

/** The largest |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
