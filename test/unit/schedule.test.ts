/**
 * Scheduled scalars (train/schedule.ts): the bilinear paper's α-decay anneal against its closed
 * form, its ends and its shape for k below and above 1, and the refusal of schedules that cannot
 * mean what they say.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSchedule, scheduleValue, type ScalarSchedule } from '../../pipeline/train/schedule.ts';

const anneal = (k: number, end = 1): ScalarSchedule => ({ kind: 'alpha-decay', from: 1, to: 0, k, end });

test('alpha-decay: β = 1 − min(u e^{k − k u}, 1), from 1 at the first step to 0 at `end`, then 0', () => {
  const total = 101; // step s is progress s / 100
  for (const k of [0.5, 1, 1.05, 1.4]) {
    const s = anneal(k, 0.5);
    assert.equal(scheduleValue(s, 0, total), 1, `k ${k}: starts at from`);
    for (const step of [10, 25, 40]) {
      const u = step / 100 / 0.5;
      const expected = 1 - Math.min(u * Math.exp(k * (1 - u)), 1);
      assert.ok(Math.abs(scheduleValue(s, step, total) - expected) < 1e-15, `k ${k}, step ${step}`);
    }
    for (const step of [50, 75, 100]) assert.equal(scheduleValue(s, step, total), 0, `k ${k}: 0 from end on`);
  }
  // Closed form at u = 1/2, k = 1: α = e^{1/2} / 2.
  assert.ok(Math.abs(scheduleValue(anneal(1), 50, total) - (1 - Math.exp(0.5) / 2)) < 1e-15);
});

test('alpha-decay: falls monotonically; for k > 1 it reaches its end early, for k ≤ 1 only at the end', () => {
  const total = 1001;
  const path = (k: number) =>
    Array.from({ length: total }, (_, step) => scheduleValue(anneal(k), step, total));
  for (const k of [0.5, 1, 1.05, 1.4]) {
    const values = path(k);
    values.slice(1).forEach((v, i) => assert.ok(v <= values[i]!, `k ${k}: rises at step ${i + 1}`));
    const first = values.findIndex((v) => v === 0);
    if (k <= 1) assert.equal(first, total - 1, `k ${k} reaches 0 only at the last step`);
    else assert.ok(first < total - 1, `k ${k} reaches 0 before the last step (at ${first})`);
  }
  // k = 1.05 reaches 0 at u ≈ 0.90, and a larger k moves more of the change early.
  const at = path(1.05).findIndex((v) => v === 0) / (total - 1);
  assert.ok(at > 0.88 && at < 0.92, `k 1.05 reaches 0 at u = ${at}`);
  assert.ok(path(1.4)[100]! < path(0.5)[100]!);
});

test('schedules that cannot mean what they say are refused, naming the scalar', () => {
  const bad: [ScalarSchedule, RegExp][] = [
    [anneal(0), /'beta': k must be > 0/],
    [anneal(-1), /k must be > 0/],
    [anneal(1, 0), /end must be a share of steps in \(0, 1\]/],
    [anneal(1, 1.5), /end must be/],
    [{ kind: 'alpha-decay', from: Number.NaN, to: 0, k: 1, end: 1 }, /from must be a finite number/],
    [{ kind: 'linear', from: 1, to: 0, start: 0.6, end: 0.4 }, /0 ≤ start < end ≤ 1/],
  ];
  for (const [s, message] of bad) assert.throws(() => checkSchedule('beta', s), message);
  assert.doesNotThrow(() => checkSchedule('beta', anneal(1.05, 0.5)));
});
