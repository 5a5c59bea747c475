/** Numbers as pages print them: byte sizes and durations, at the edges of each unit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayMetric } from '../../pipeline/emit/report.ts';
import { formatSeconds } from '../../pipeline/util/format.ts';

test('formatSeconds: tenths under 10 s, whole seconds under 90 s, then minutes, then hours', () => {
  const cases: [number, string][] = [
    [0, '0.0 s'],
    [0.04, '0.0 s'],
    [9.94, '9.9 s'],
    [10, '10 s'],
    [42.4, '42 s'],
    [89.4, '89 s'],
    [89.5, '1.5 min'],
    [600, '10.0 min'],
    [5399, '90.0 min'],
    [5400, '1.5 h'],
    [36000, '10.0 h'],
  ];
  for (const [seconds, text] of cases) assert.equal(formatSeconds(seconds), text, String(seconds));
  for (const bad of [-1, Number.NaN]) assert.throws(() => formatSeconds(bad), /not a duration/);
});

test('displayMetric: thousands grouped, the digits asked for, no sign on a value that rounds to zero, non-finite refused', () => {
  const d = (value: number, format: 'number' | 'percent', digits: number) =>
    displayMetric({ label: 'x', value, format, digits });
  assert.equal(d(2576640, 'number', 0), '2,576,640');
  assert.equal(d(1234.5678, 'number', 2), '1,234.57');
  assert.equal(d(-1234, 'number', 0), '-1,234');
  assert.equal(d(-0.0253, 'number', 4), '-0.0253');
  assert.equal(d(-0.00001, 'number', 4), '0.0000');
  assert.equal(d(-0.00004, 'percent', 1), '0.0%');
  assert.equal(d(0.9812, 'percent', 2), '98.12%');
  assert.equal(displayMetric({ label: 'x', value: 3, format: 'number', digits: 0, text: '> 50' }), '> 50');
  assert.throws(() => d(Number.NaN, 'number', 2), /refusing to publish/);
});
