/** A site build is skipped only when nothing it reads has changed and its output is whole. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { outputShape, siteInputsHash, upToDate } from '../../scripts/site-inputs.ts';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'site-inputs-'));
  for (const dir of ['site/pages', 'content', 'reports/mnist', 'pipeline', 'dist'])
    mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'site/pages/index.astro'), '<h1>Reports</h1>');
  writeFileSync(join(root, 'content/mnist.mdx'), 'text');
  writeFileSync(join(root, 'reports/mnist/report.json'), '{"id":"mnist"}');
  writeFileSync(join(root, 'dist/index.html'), '<h1>Reports</h1>');
  return root;
}

test('the same inputs hash the same; any file the site reads, or its environment, changes it', () => {
  const root = tree();
  const env = { BASE_PATH: undefined };
  const before = siteInputsHash(root, env);
  assert.equal(siteInputsHash(root, env), before);
  writeFileSync(join(root, 'reports/mnist/report.json'), '{"id":"mnist","x":1}');
  const afterReport = siteInputsHash(root, env);
  assert.notEqual(afterReport, before);
  writeFileSync(join(root, 'content/mnist.mdx'), 'text!');
  assert.notEqual(siteInputsHash(root, env), afterReport);
  assert.notEqual(siteInputsHash(root, { BASE_PATH: '/sub/' }), siteInputsHash(root, env));
  // a file the site does not read (the output itself) changes nothing
  const now = siteInputsHash(root, env);
  writeFileSync(join(root, 'dist/extra.html'), 'x');
  assert.equal(siteInputsHash(root, env), now);
  rmSync(root, { recursive: true });
});

test('up to date only with the same inputs and the output as it was written', () => {
  const root = tree();
  const out = join(root, 'dist');
  const inputs = siteInputsHash(root, {});
  const stamp = { inputs, output: outputShape(out) };
  assert.equal(upToDate(stamp, inputs, out), true);
  assert.equal(upToDate(undefined, inputs, out), false, 'no stamp: never built here');
  assert.equal(upToDate(stamp, 'other', out), false, 'inputs changed');
  writeFileSync(join(out, 'index.html'), '<h1>Edited by hand</h1>');
  assert.equal(upToDate(stamp, inputs, out), false, 'the output was changed since');
  rmSync(out, { recursive: true });
  assert.equal(upToDate(stamp, inputs, out), false, 'the output is gone');
  rmSync(root, { recursive: true });
});
