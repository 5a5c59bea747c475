/** Numbers as pages print them: byte sizes and durations, at the edges of each unit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSeconds } from '../../pipeline/util/format.ts';

test('formatSeconds: tenths under 10 s, whole seconds under 90 s, then minutes, then hours', () => {
  const cases: [number, string][] = [[0, '0.0 s'], [0.04, '0.0 s'], [9.94, '9.9 s'], [10, '10 s'], [42.4, '42 s'], [89.4, '89 s'], [89.5, '1.5 min'], [600, '10.0 min'], [5399, '90.0 min'], [5400, '1.5 h'], [36000, '10.0 h']];
  for (const [seconds, text] of cases) assert.equal(formatSeconds(seconds), text, String(seconds));
  for (const bad of [-1, Number.NaN]) assert.throws(() => formatSeconds(bad), /not a duration/);
});
