/**
 * The finetune report's own checks: its β schedule must end at β = 0 (the published model is
 * bilinear only there), and every profile's does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAnneal, FINETUNE_PROFILES } from '../../pipeline/reports/finetune.ts';
import { scheduleValue } from '../../pipeline/train/schedule.ts';

test('a β schedule that never reaches 0 is refused, naming the setting', () => {
  const where = 'the test profile';
  assert.throws(
    () => checkAnneal({ kind: 'alpha-decay', from: 1, to: 0.2, k: 1.05, end: 0.5 }, where),
    /the test profile: the β schedule \(alpha-decay\) must end at β = 0.*ends at 0\.2/,
  );
  assert.throws(() => checkAnneal({ kind: 'constant', value: 1 }, where), /ends at 1/);
  assert.throws(
    () => checkAnneal({ kind: 'warmup-cosine', peak: 1, warmup: 0.1, final: 0 }, where),
    /ends at no fixed value/,
  );
  assert.throws(
    () => checkAnneal({ kind: 'linear', from: 1, to: 0, start: 0.5, end: 0.2 }, where),
    /start < end/,
  );
  checkAnneal({ kind: 'linear', from: 1, to: 0, start: 0, end: 1 }, where);
});

test("every profile's anneal starts at SiLU and is exactly 0 at the last step", () => {
  for (const [name, p] of Object.entries(FINETUNE_PROFILES)) {
    checkAnneal(p.beta, name);
    for (const steps of [5, 126, 504, 1000]) {
      assert.equal(scheduleValue(p.beta, 0, steps) > 0.9, true, `${name}: β at the first step`);
      assert.equal(scheduleValue(p.beta, steps - 1, steps), 0, `${name}: β at the last of ${steps}`);
    }
  }
});
