/** Comparison words from intervals: a sentence never says more than the data. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare, orderChange, type Measured } from '../../site/lib/compare.ts';

const point = (value: number): Measured => ({ value, display: String(value) });
const mean = (value: number, lo: number, hi: number): Measured => ({
  value,
  display: String(value),
  interval: { lo, hi },
});

test('separate intervals give the side the first number lies on', () => {
  assert.equal(compare(mean(6, 3.5, 8.5), mean(16, 15, 17)), 'lower');
  assert.equal(compare(mean(16, 15, 17), mean(6, 3.5, 8.5)), 'higher');
});

test('overlapping intervals are unclear, whichever means differ', () => {
  // The Fashion-MNIST case: 9.2–12.1 against 9.9–17.5 is not "fewer".
  assert.equal(compare(mean(10.7, 9.2, 12.1), mean(13.7, 9.9, 17.5)), 'unclear');
  assert.equal(compare(mean(13.7, 9.9, 17.5), mean(10.7, 9.2, 12.1)), 'unclear');
  // Touching bounds overlap.
  assert.equal(compare(mean(1, 0, 2), mean(3, 2, 4)), 'unclear');
});

test('a number without an interval is the point it is', () => {
  assert.equal(compare(point(0.65), mean(0.9, 0.8, 1)), 'lower');
  assert.equal(compare(point(0.85), mean(0.9, 0.8, 1)), 'unclear');
  assert.equal(compare(mean(0.9, 0.8, 1), point(0.5)), 'higher');
});

test('two single numbers compare as printed', () => {
  assert.equal(compare(point(2), point(1)), 'higher');
  assert.equal(compare(point(1), point(2)), 'lower');
  assert.equal(compare({ value: 0.1234, display: '0.12' }, { value: 0.1201, display: '0.12' }), 'same');
});

test('the same printed value is the same, even with intervals', () => {
  assert.equal(compare(mean(0.5, 0.4, 0.6), { ...mean(0.5, 0.1, 0.9) }), 'same');
});

test('a non-finite value is an error, not a word', () => {
  assert.throws(() => compare(point(Number.NaN), point(1)), /non-finite/);
});

test('how an order changes between two settings', () => {
  assert.equal(orderChange('higher', 'higher'), 'holds');
  assert.equal(orderChange('higher', 'lower'), 'reverses');
  assert.equal(orderChange('lower', 'higher'), 'reverses');
  assert.equal(orderChange('higher', 'unclear'), 'fades');
  assert.equal(orderChange('lower', 'same'), 'fades');
  assert.equal(orderChange('unclear', 'lower'), 'appears');
  assert.equal(orderChange('unclear', 'same'), 'none');
});
