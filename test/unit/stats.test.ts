/**
 * The interval module against textbook values (Student's t table; R's t.test on Student's 1908
 * sleep data), identities (the pair jackknife of (x_i + x_j)/2 is the t interval of the x_i) and
 * the property that nested draws are not pooled.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  clamped,
  nestedInterval,
  pairInterval,
  tCritical,
  tInterval,
} from '../../pipeline/analysis/stats.ts';
import { assertClose } from '../helpers/close.ts';

test('t critical values match the table (two-sided 95%)', () => {
  // Student's t table, t_{0.975, df}: 12.706, 4.303, 2.776, 2.262, 2.045; 1.960 in the limit.
  assertClose(
    [1, 2, 4, 9, 29].map((df) => tCritical(df)),
    [12.7062047, 4.3026527, 2.7764451, 2.2621572, 2.0452296],
    { atol: 1e-6, label: 't quantiles' },
  );
  assertClose([tCritical(1e6)], [1.959966], { atol: 1e-5, label: 'normal limit' });
  assert.throws(() => tCritical(0), /degrees of freedom/);
});

test('a t interval reproduces R on the sleep data (Cushny–Peebles differences)', () => {
  // t.test(c(1.2, 2.4, 1.3, 1.3, 0, 1.0, 1.8, 0.8, 4.6, 1.4)): mean 1.58, 95% CI [0.7001142, 2.4598858].
  const iv = tInterval([1.2, 2.4, 1.3, 1.3, 0, 1.0, 1.8, 0.8, 4.6, 1.4]);
  assertClose([iv.mean, iv.lo!, iv.hi!], [1.58, 0.7001142, 2.4598858], { atol: 1e-6, label: 'sleep CI' });
  assert.equal(iv.n, 10);
  assert.equal(iv.method, 't');
});

test('three seeds give an interval 2.2× wider than the normal approximation; two give none', () => {
  const normal = (xs: number[]) => {
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
    return (1.96 * sd) / Math.sqrt(xs.length);
  };
  const xs = [0.91, 0.93, 0.94];
  const iv = tInterval(xs);
  assertClose([(iv.hi! - iv.mean) / normal(xs)], [4.3026527 / 1.96], { atol: 1e-6, label: '3 seeds' });
  // Two units would give t = 12.71, an interval that says only that two numbers differ: none is drawn.
  assert.deepEqual(tInterval([0.91, 0.93]), { mean: 0.92, lo: null, hi: null, n: 2, method: 't' });
  assert.equal(nestedInterval([[0.1, 0.2], [0.3]]).lo, null);
});

test('one unit gives no interval, a constant a zero-width one; bad values are refused', () => {
  assert.deepEqual(tInterval([0.4]), { mean: 0.4, lo: null, hi: null, n: 1, method: 't' });
  assert.deepEqual(tInterval([0.5, 0.5, 0.5]), { mean: 0.5, lo: 0.5, hi: 0.5, n: 3, method: 't' });
  assert.throws(() => tInterval([]), /at least one value/);
  assert.throws(() => tInterval([1, Number.NaN]), /non-finite/);
});

test('nested draws: the interval is over unit means, never over the pooled draws', () => {
  const groups = [
    [0.1, 0.2, 0.3],
    [0.5, 0.6, 0.7],
    [0.2, 0.2, 0.2],
  ];
  const nested = nestedInterval(groups);
  const overMeans = tInterval([0.2, 0.6, 0.2]);
  assertClose([nested.mean, nested.lo!, nested.hi!], [overMeans.mean, overMeans.lo!, overMeans.hi!], {
    atol: 1e-12,
    label: 'nested = t over means',
  });
  assert.equal(nested.n, 3);
  assert.equal(nested.method, 'nested');
  // Pooling nine draws as independent would claim a much narrower interval.
  const pooled = tInterval(groups.flat());
  assert.ok(pooled.hi! - pooled.lo! < 0.5 * (nested.hi! - nested.lo!));
});

test('the pair jackknife of (x_i + x_j)/2 is exactly the t interval of the x_i', () => {
  const x = [0.3, 0.55, 0.41, 0.62, 0.47];
  const pairs = pairInterval(x.length, (i, j) => (x[i]! + x[j]!) / 2);
  const direct = tInterval(x);
  assertClose([pairs.mean, pairs.lo!, pairs.hi!], [direct.mean, direct.lo!, direct.hi!], {
    atol: 1e-12,
    label: 'jackknife identity',
  });
  assert.equal(pairs.n, 5);
  assert.equal(pairs.method, 'jackknife');
});

test('the pair jackknife: each pair is computed once; two seeds give one pair and no interval', () => {
  const calls: string[] = [];
  const iv = pairInterval(4, (i, j) => {
    calls.push(`${i}${j}`);
    return i + j;
  });
  assert.deepEqual(calls, ['01', '02', '03', '12', '13', '23']);
  assert.equal(iv.mean, 3);
  assert.ok(iv.lo! < 3 && iv.hi! > 3);
  assert.deepEqual(
    pairInterval(2, () => 0.548),
    { mean: 0.548, lo: null, hi: null, n: 2, method: 'jackknife' },
  );
  assert.throws(() => pairInterval(1, () => 0), /at least 2 seeds/);
  assert.throws(() => pairInterval(3, () => Number.NaN), /non-finite/);
});

test('clamping keeps an interval inside a range and a missing one missing', () => {
  assert.deepEqual(clamped({ mean: 0.98, lo: 0.95, hi: 1.02, n: 3, method: 't' }, 0, 1), {
    mean: 0.98,
    lo: 0.95,
    hi: 1,
    n: 3,
    method: 't',
  });
  assert.deepEqual(clamped({ mean: 0.5, lo: null, hi: null, n: 1, method: 't' }, 0, 1), {
    mean: 0.5,
    lo: null,
    hi: null,
    n: 1,
    method: 't',
  });
});
