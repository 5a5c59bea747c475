/** Verdicts on the paper's claims: one stated rule over checks, and the claims list names real things. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLAIMS, judge } from '../../site/lib/claims.ts';
import {
  runCheck,
  verdictOf,
  type Check,
  type Lookup,
  type MetricRef,
  type Reading,
} from '../../site/lib/verdicts.ts';

const reading = (value: number, lo?: number, hi?: number): Reading => ({
  label: 'x',
  value,
  display: String(value),
  ...(lo === undefined ? {} : { interval: { lo, hi: hi! } }),
});
const table =
  (entries: Record<string, Reading>): Lookup =>
  (ref: MetricRef) =>
    entries[ref];
const fewer: Check = { says: 'a is lower', a: 'r/a', expect: 'lower', b: 'r/b' };

test('a check holds, is reversed or unclear by the intervals; a missing report is not built', () => {
  assert.equal(
    runCheck(fewer, table({ 'r/a': reading(6, 3.5, 8.5), 'r/b': reading(16, 15, 17) })).outcome,
    'holds',
  );
  assert.equal(
    runCheck(fewer, table({ 'r/a': reading(16, 15, 17), 'r/b': reading(6, 3.5, 8.5) })).outcome,
    'reversed',
  );
  assert.equal(
    runCheck(fewer, table({ 'r/a': reading(6, 3, 12), 'r/b': reading(9, 8, 10) })).outcome,
    'unclear',
  );
  assert.equal(runCheck(fewer, table({ 'r/a': reading(6, 3, 12) })).outcome, 'missing');
  // A threshold is a point.
  const share: Check = { says: 'above 80%', a: 'r/a', expect: 'higher', b: { value: 0.8, display: '80%' } };
  assert.equal(runCheck(share, table({ 'r/a': reading(0.87) })).outcome, 'holds');
  assert.equal(runCheck(share, table({ 'r/a': reading(0.85, 0.75, 0.95) })).outcome, 'unclear');
});

test('the verdict rule: all hold, some hold, none holds, anything missing', () => {
  const r = (outcome: 'holds' | 'reversed' | 'unclear' | 'missing') => ({ check: fewer, outcome });
  assert.equal(verdictOf([r('holds'), r('holds')]), 'reproduced');
  assert.equal(verdictOf([r('holds'), r('unclear')]), 'partly');
  assert.equal(verdictOf([r('holds'), r('reversed')]), 'partly');
  assert.equal(verdictOf([r('unclear'), r('reversed')]), 'not reproduced');
  assert.equal(verdictOf([r('holds'), r('missing')]), 'not yet tested');
  assert.equal(verdictOf([]), 'not yet tested');
});

test('every claim is checked, judged by eye with a reason, or says what will test it', () => {
  const ids = new Set<string>();
  for (const claim of CLAIMS) {
    assert.ok(!ids.has(claim.id), `claim id '${claim.id}' twice`);
    ids.add(claim.id);
    const ways = [claim.checks?.length ? 1 : 0, claim.judged ? 1 : 0, claim.untested ? 1 : 0];
    assert.equal(
      ways.reduce((s, x) => s + x, 0),
      1,
      `claim '${claim.id}' needs exactly one of checks, judged, untested`,
    );
    for (const ref of [...(claim.ours ?? []), ...claim.figures])
      assert.match(ref, /^[a-z0-9-]+\/[a-z0-9-]+$/);
    // With nothing built, nothing is decided by the checks.
    const verdict = judge(claim, () => undefined).verdict;
    if (claim.checks) assert.equal(verdict, 'not yet tested', claim.id);
  }
});
