import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageSet, stratifiedSplit } from '../../pipeline/data/dataset.ts';
import { loadMnistPackage } from '../../pipeline/data/mnist-package.ts';

function labelled(counts: number[]) {
  const labels = Uint8Array.from(counts.flatMap((n, c) => new Array(n).fill(c)));
  const images = Float32Array.from({ length: labels.length * 2 }, (_, i) => Math.floor(i / 2)); // pixel = example index
  return imageSet(images, labels, 2);
}

test('the split keeps each class in proportion, is disjoint, covers everything and is seeded', () => {
  const set = labelled([100, 50, 30]);
  const { train, test: held } = stratifiedSplit(set, { testFraction: 0.2, seed: 5 });
  const count = (labels: Uint8Array, c: number) => labels.filter((l) => l === c).length;
  assert.deepEqual([0, 1, 2].map((c) => count(held.labels, c)), [20, 10, 6]);
  assert.deepEqual([0, 1, 2].map((c) => count(train.labels, c)), [80, 40, 24]);
  const ids = (s: typeof train) => Array.from({ length: s.n }, (_, i) => s.images[i * 2]!);
  const all = [...ids(train), ...ids(held)].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 180 }, (_, i) => i));
  // each example keeps its own label
  for (const s of [train, held]) for (let i = 0; i < s.n; i++) assert.equal(s.labels[i], set.labels[s.images[i * 2]!]);
  assert.deepEqual(stratifiedSplit(set, { testFraction: 0.2, seed: 5 }).test.images, held.images);
  assert.notDeepEqual(stratifiedSplit(set, { testFraction: 0.2, seed: 6 }).test.images, held.images);
});

test('limits cap the split sizes while keeping proportions', () => {
  const { train, test: held } = stratifiedSplit(labelled([100, 50, 50]), { testFraction: 0.5, seed: 1, trainLimit: 20, testLimit: 9 });
  assert.equal(train.n, 20);
  assert.equal(held.n, 9); // quotas 4.5, 2.25, 2.25: largest remainders fill the deficit of 1
  assert.equal(train.labels.filter((l) => l === 0).length, 10);
});

test('a set whose pixel count does not match its labels is refused', () => {
  assert.throws(() => imageSet(new Float32Array(10), new Uint8Array(3), 4), /expected 3 labels × 4 pixels = 12/);
});

test('the mnist package loads 10,000 labelled 28×28 digits in [0, 1]', () => {
  const data = loadMnistPackage();
  assert.equal(data.all.n, 10_000);
  assert.equal(data.all.dim, 784);
  assert.equal(new Set(data.all.labels).size, 10);
  let min = Infinity;
  let max = -Infinity;
  for (const x of data.all.images) {
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  assert.ok(min >= 0 && max <= 1 && max > 0.9, `pixel range [${min}, ${max}]`);
  assert.match(data.hash, /^[0-9a-f]{64}$/);
});
