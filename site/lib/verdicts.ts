/**
 * Verdicts on the paper's claims, decided by one stated rule from the published data (the claims
 * page prints the rule). A claim is tested by checks; each check compares one of our numbers with
 * another, or with a fixed threshold, in the direction the claim predicts, using the comparison
 * rule of lib/compare.ts (overlapping 95% intervals are no clear difference):
 *
 * - every check holds: **reproduced**;
 * - some hold and some do not: **partly**;
 * - none holds (each is reversed or unclear): **not reproduced**;
 * - a check's report was not built, or the claim has no experiment yet: **not yet tested**.
 *
 * A claim no number can decide (what an eigenvector looks like) carries a verdict judged by eye and
 * says why; the page marks it as judged, not computed.
 */
import { compare, type Measured } from './compare.ts';

export type Verdict = 'reproduced' | 'partly' | 'not reproduced' | 'not yet tested';

/** One of our published numbers: `<report>/<metric>`. */
export type MetricRef = `${string}/${string}`;

/** A fixed number a metric is held against (the paper's, or a stated threshold). */
export interface Threshold {
  value: number;
  display: string;
}

export interface Check {
  /** The prediction in words, as the page prints it: "eigenvectors need fewer directions than random ones". */
  says: string;
  a: MetricRef;
  /** The direction the claim predicts for `a` against `b`. */
  expect: 'higher' | 'lower';
  b: MetricRef | Threshold;
}

/** A metric as the checks read it, with the words the page needs. */
export interface Reading extends Measured {
  label: string;
}

export type Outcome = 'holds' | 'reversed' | 'unclear' | 'missing';

export interface CheckResult {
  check: Check;
  outcome: Outcome;
  a?: Reading;
  b?: Reading | Threshold;
}

/** Looks up `<report>/<metric>`; undefined when the report was not built or lacks the metric. */
export type Lookup = (ref: MetricRef) => Reading | undefined;

/** Splits `<report>/<metric>` at its first slash. */
export function splitRef(ref: MetricRef): { report: string; name: string } {
  const at = ref.indexOf('/');
  return { report: ref.slice(0, at), name: ref.slice(at + 1) };
}

export function runCheck(check: Check, lookup: Lookup): CheckResult {
  const a = lookup(check.a);
  const b = typeof check.b === 'string' ? lookup(check.b) : check.b;
  if (!a || !b) return { check, outcome: 'missing' };
  const found = compare(a, b);
  const outcome: Outcome =
    found === check.expect ? 'holds' : found === 'same' || found === 'unclear' ? 'unclear' : 'reversed';
  return { check, outcome, a, b };
}

/** The verdict the rule gives a claim's check results (see the module comment). */
export function verdictOf(results: CheckResult[]): Verdict {
  if (results.length === 0 || results.some((r) => r.outcome === 'missing')) return 'not yet tested';
  const holding = results.filter((r) => r.outcome === 'holds').length;
  if (holding === results.length) return 'reproduced';
  return holding === 0 ? 'not reproduced' : 'partly';
}
