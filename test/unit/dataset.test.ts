import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  imageSet,
  stratifiedIndices,
  stratifiedSample,
  stratifiedSplit,
  unitPixels,
} from '../../pipeline/data/dataset.ts';

function labelled(counts: number[]) {
  const labels = Uint8Array.from(counts.flatMap((n, c) => new Array<number>(n).fill(c)));
  const images = Float32Array.from({ length: labels.length * 2 }, (_, i) => Math.floor(i / 2)); // pixel = example index
  return imageSet(images, labels, 2);
}

test('the split keeps each class in proportion, is disjoint, covers everything and is seeded', () => {
  const set = labelled([100, 50, 30]);
  const { train, test: held } = stratifiedSplit(set, { testFraction: 0.2, seed: 5 });
  const count = (labels: Uint8Array, c: number) => labels.filter((l) => l === c).length;
  assert.deepEqual(
    [0, 1, 2].map((c) => count(held.labels, c)),
    [20, 10, 6],
  );
  assert.deepEqual(
    [0, 1, 2].map((c) => count(train.labels, c)),
    [80, 40, 24],
  );
  const ids = (s: typeof train) => Array.from({ length: s.n }, (_, i) => s.images[i * 2]!);
  const all = [...ids(train), ...ids(held)].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 180 }, (_, i) => i),
  );
  // each example keeps its own label
  for (const s of [train, held])
    for (let i = 0; i < s.n; i++) assert.equal(s.labels[i], set.labels[s.images[i * 2]!]);
  assert.deepEqual(stratifiedSplit(set, { testFraction: 0.2, seed: 5 }).test.images, held.images);
  assert.notDeepEqual(stratifiedSplit(set, { testFraction: 0.2, seed: 6 }).test.images, held.images);
});

test('limits cap the split sizes while keeping proportions', () => {
  const { train, test: held } = stratifiedSplit(labelled([100, 50, 50]), {
    testFraction: 0.5,
    seed: 1,
    trainLimit: 20,
    testLimit: 9,
  });
  assert.equal(train.n, 20);
  assert.equal(held.n, 9); // quotas 4.5, 2.25, 2.25: largest remainders fill the deficit of 1
  assert.equal(train.labels.filter((l) => l === 0).length, 10);
});

test('a set whose pixel count does not match its labels is refused', () => {
  assert.throws(
    () => imageSet(new Float32Array(10), new Uint8Array(3), 4),
    /expected 3 labels × 4 pixels = 12/,
  );
});

test("unitPixels maps bytes to x / 255 exactly, and a byte sample keeps stratifiedSample's order", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const unit = unitPixels(bytes);
  for (let i = 0; i < 256; i++) assert.equal(unit[i], Math.fround(i / 255), `byte ${i}`);
  const labels = Uint8Array.from({ length: 40 }, (_, i) => (i * 7) % 3);
  const set = imageSet(
    Float32Array.from({ length: 40 * 2 }, (_, k) => k),
    labels,
    2,
  );
  const sample = stratifiedSample(set, 12, 5);
  const indices = stratifiedIndices(labels, 12, 5)!;
  assert.deepEqual(
    Array.from(sample.images),
    indices.flatMap((i) => [2 * i, 2 * i + 1]),
  );
  assert.equal(stratifiedIndices(labels, 40, 5), null, 'a limit of n keeps the set as it is');
});
