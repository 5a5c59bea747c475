/**
 * Intervals in prose: a paragraph, list item or table says how its intervals were made (method and
 * n) once, and its numbers carry only their bounds. Read from the built HTML of every page.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { INTERVAL_METHODS } from '../../pipeline/emit/report.ts';
import { htmlFiles } from '../helpers/site-links.ts';

/** The smoke build; FIGURES_DIST=dist reads the published build the same way. */
const DIST = process.env.FIGURES_DIST ?? '.smoke/dist';
const METHODS = Object.values(INTERVAL_METHODS).sort((a, b) => b.length - a.length);
/** "t interval, n = 3 seeds" (with or without "cut at the possible range" between). */
const HOW = new RegExp(
  `(${METHODS.join('|')})(?: cut at the possible range)?, n = (\\d+) ([a-z ]*[a-z])`,
  'g',
);

/** The text of every paragraph, list item and table of a page (tags removed, entities left). */
function blocks(html: string): string[] {
  const found = html.match(/<(p|li|table)\b[^>]*>[\s\S]*?<\/\1>/g) ?? [];
  return found.map((b) => b.replace(/<[^>]+>/g, '').replace(/\s+/g, ' '));
}

/** Each way an interval was made, counted in one block of text. */
function repeats(text: string): string[] {
  const seen = new Map<string, number>();
  for (const m of text.matchAll(HOW)) {
    const key = `${m[1]}, n = ${m[2]} ${m[3]}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} (${n} times)`);
}

test('the rule itself: a repeated method is found, one per method is fine', () => {
  expect(
    repeats(
      '0.8 (95% interval 0.7 to 0.9, t interval, n = 9 output directions), 0.5 (95% interval 0.4 to 0.6, t interval cut at the possible range, n = 9 output directions)',
    ),
  ).toEqual(['t interval, n = 9 output directions (2 times)']);
  expect(
    repeats(
      '0.8 (0.7 to 0.9), 0.5 (0.4 to 0.6) (95% intervals: t interval, n = 9 output directions; leave-one-out jackknife interval, n = 3 seeds)',
    ),
  ).toEqual([]);
});

test('no paragraph, list item or table of the site states an interval method and n twice', () => {
  const problems: string[] = [];
  for (const file of htmlFiles(DIST)) {
    const html = readFileSync(join(DIST, file), 'utf8');
    for (const text of blocks(html)) {
      const repeated = repeats(text);
      if (repeated.length > 0) problems.push(`${file}: ${repeated.join(', ')}: “${text.slice(0, 120)}…”`);
    }
  }
  expect(problems).toEqual([]);
});
