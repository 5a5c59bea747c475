/** Shared held-out positions: a context that tops most tokens' lists is told apart from a token's own. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contextSpecificity } from '../../pipeline/analysis/context-specificity.ts';
import type { Context, DirectionReading } from '../../pipeline/analysis/language-readings.ts';

const ctx = (window: number, position: number): Context => ({
  window,
  position,
  activation: 1,
  share: 0.5,
  total: 1,
  before: ' Once',
  token: ' upon',
  next: ' a',
});
/** A direction whose eigenvectors' contexts sit at the given positions. */
const direction = (slug: string, ...eigenvectors: [number, number][][]): DirectionReading =>
  ({
    slug,
    eigenvectors: eigenvectors.map((at) => ({ contexts: at.map(([w, p]) => ctx(w, p)) })),
  }) as unknown as DirectionReading;

test('a position among the top contexts of at least half the directions is shared', () => {
  const s = contextSpecificity([
    direction(
      'a',
      [
        [0, 1],
        [5, 5],
      ],
      [[0, 1]],
    ), // 0:1 twice in one direction counts once for sharing
    direction('b', [
      [0, 1],
      [6, 6],
    ]),
    direction('c', [
      [7, 7],
      [8, 8],
    ]),
    direction('d', [
      [9, 9],
      [0, 1],
    ]),
  ]);
  assert.equal(s.threshold, 2);
  assert.deepEqual(
    s.shared.map((p) => [p.key, p.directions]),
    [['0:1', 3]],
  );
  // shares count contexts, over all the direction's eigenvectors
  assert.deepEqual(s.sharedShare, [2 / 3, 1 / 2, 0, 1 / 2]);
});

test('one direction shares nothing with itself; no contexts is a share of 0', () => {
  assert.deepEqual(contextSpecificity([direction('a', [[0, 1]])]).shared, []);
  assert.deepEqual(contextSpecificity([direction('a', []), direction('b', [])]).sharedShare, [0, 0]);
});
