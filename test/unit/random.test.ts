import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

test('the same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b.nextUint32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 100 }, () => c.nextUint32()),
  );
});

test('uniform, int and normal have the moments they should (n = 200,000; tolerances ≈ 5σ)', () => {
  const rng = new Rng(1);
  const n = 200_000;
  const u = Array.from({ length: n }, () => rng.uniform());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assertClose(u.reduce((s, x) => s + x, 0) / n, 0.5, { atol: 5 * Math.sqrt(1 / 12 / n), label: 'mean U' });
  const z = Array.from({ length: n }, () => rng.normal());
  const mean = z.reduce((s, x) => s + x, 0) / n;
  const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  assertClose(mean, 0, { atol: 5 / Math.sqrt(n), label: 'mean N' });
  assertClose(variance, 1, { atol: 5 * Math.sqrt(2 / n), label: 'var N' });
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[rng.int(7)]! += 1;
  for (const count of counts)
    assertClose(count, 10_000, { atol: 5 * Math.sqrt(10_000), label: 'int(7) count' });
});

test('shuffle is a seeded permutation', () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = new Rng(3).shuffle([...xs]);
  assert.deepEqual(
    [...shuffled].sort((a, b) => a - b),
    xs,
  );
  assert.notDeepEqual(shuffled, xs);
  assert.deepEqual(new Rng(3).shuffle([...xs]), shuffled);
});

test('a seed must be an integer', () => {
  assert.throws(() => new Rng(1.5), /seed must be an integer/);
});
