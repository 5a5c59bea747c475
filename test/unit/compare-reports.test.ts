/** The refactor check: two report folders agree up to code hashes and timings, and nothing else. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { compareReports } from '../../scripts/compare-reports.ts';

const meta = (codeVersion: Record<string, string>, value = 1) =>
  JSON.stringify({
    id: 'f',
    value,
    models: [{ id: 'm', configHash: Object.values(codeVersion).join('') }],
    provenance: { seed: 0, configHash: Object.keys(codeVersion).join(''), codeVersion },
  });

function folder(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'compare-reports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const base = {
  'r/report.json': meta({ train: 'aaaa' }),
  'r/timings.json': '{"train": 1.5}',
  'r/figures/f/meta.json': meta({ figure: 'bbbb' }),
  'r/figures/f/data.json': '{"x": [1, 2]}',
  'r/figures/f/figure.svg': '<svg width="1" height="1"></svg>',
};

test('folders that differ only in code hashes and timings agree', (t) => {
  const a = folder(base);
  const b = folder({
    ...base,
    'r/report.json': meta({ train: 'cccc' }),
    'r/timings.json': '{"train": 9.25}',
    'r/figures/f/meta.json': meta({ figure: 'dddd', decompose: 'eeee' }),
  });
  t.after(() => [a, b].forEach((d) => rmSync(d, { recursive: true })));
  assert.deepEqual(compareReports(a, b), []);
});

test('a changed number, a changed drawing, a missing and an extra file are each reported', (t) => {
  const a = folder({ ...base, 'r/figures/f/data.csv': 'x\n1\n' });
  const b = folder({
    ...base,
    'r/figures/f/meta.json': meta({ figure: 'bbbb' }, 2),
    'r/figures/f/figure.svg': '<svg width="1" height="2"></svg>',
    'r/figures/f/figure.png': 'png',
  });
  t.after(() => [a, b].forEach((d) => rmSync(d, { recursive: true })));
  const found = compareReports(a, b);
  assert.deepEqual(
    found.map((d) => d.file),
    ['r/figures/f/data.csv', 'r/figures/f/figure.png', 'r/figures/f/figure.svg', 'r/figures/f/meta.json'],
  );
  assert.match(found[0]!.what, /^only in /);
  assert.match(found[3]!.what, /differs beyond code hashes/);
});
