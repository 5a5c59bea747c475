/**
 * The pipeline's floors (README "Layout"): a module imports only from its own folder and the ones
 * below it, and no stage outside models/ and tasks/ names a kind of model or a task, so a new kind
 * is a new file there and nothing else changes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const PIPELINE = new URL('../../pipeline/', import.meta.url).pathname;
/** Lowest first. A module may import from its own floor and from any floor before it. */
const FLOORS = [
  'util',
  'errors.ts',
  'profiles.ts',
  'tensors',
  'cache',
  'data',
  'native',
  'models',
  'corpus',
  'tasks',
  'train',
  'decompose',
  'analysis',
  'figures',
  'emit',
  'reports',
  'build.ts',
  'cli.ts',
];
/** Type-only imports that go up, and why they may. */
const ALLOWED_UP = new Set(['emit/models.ts -> reports/spec.ts', 'emit/report.ts -> reports/spec.ts']); // the emitter writes what a spec declares

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s*['"](\.[^'"]+)['"]/gm)].map(
    (m) => ({
      target: relative(PIPELINE, resolve(dirname(file), m[2]!)),
      typeOnly: m[1] !== undefined,
    }),
  );
}

const floorOf = (path: string) => FLOORS.indexOf(path.split('/')[0]!);

test('no import goes up a floor (type-only exceptions are listed with their reason)', () => {
  const up: string[] = [];
  for (const file of sources(PIPELINE)) {
    const from = relative(PIPELINE, file);
    assert.ok(floorOf(from) >= 0, `${from} is on no floor; add its folder to FLOORS and the README's layout`);
    for (const { target, typeOnly } of imports(file)) {
      if (floorOf(target) <= floorOf(from)) continue;
      const edge = `${from} -> ${target}`;
      if (!(typeOnly && ALLOWED_UP.has(edge))) up.push(`${edge}${typeOnly ? ' (type only)' : ''}`);
    }
  }
  assert.deepEqual(up, []);
});

test('no stage outside models/, tasks/ and the report specs names a kind of model or a task', () => {
  const named: string[] = [];
  for (const file of sources(PIPELINE)) {
    const from = relative(PIPELINE, file);
    // corpus/ samples stories from the pretrained language model, which it names.
    if (/^(models|tasks|reports|corpus)\//.test(from)) continue;
    for (const { target } of imports(file)) {
      if (/^models\/(?!kind\.ts)/.test(target) || /^tasks\/(?!kind\.ts)/.test(target))
        named.push(`${from} -> ${target}`);
    }
  }
  assert.deepEqual(named, []);
});
