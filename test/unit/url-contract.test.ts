/**
 * The published-URL contract: what the build checks, what the update script adds, and the
 * redirect page a moved URL leaves behind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  checkContract,
  contractError,
  contractSchema,
  publishedPaths,
  readContract,
  redirectPage,
  updateContract,
} from '../../site/lib/url-contract.ts';
import { contractMode } from '../../site/integrations/citable.ts';

const root = mkdtempSync(join(tmpdir(), 'url-contract-'));
after(() => rmSync(root, { recursive: true, force: true }));

function reportsFolder(
  name: string,
  reports: Record<string, { figures: string[]; profile?: string }>,
): string {
  const dir = join(root, name);
  for (const [id, { figures, profile = 'default' }] of Object.entries(reports)) {
    mkdirSync(join(dir, id), { recursive: true });
    writeFileSync(join(dir, id, 'report.json'), JSON.stringify({ id, figures, profile }));
  }
  return dir;
}

const contract = (urls: string[], moved: Record<string, string> = {}) =>
  contractSchema.parse({ urls, moved });

test('the published pages of a reports folder: each report and each figure', () => {
  const dir = reportsFolder('two', { mnist: { figures: ['a', 'b'] }, extra: { figures: [] } });
  assert.deepEqual(publishedPaths(dir), [
    'reports/extra/',
    'reports/mnist/',
    'reports/mnist/figures/a/',
    'reports/mnist/figures/b/',
  ]);
});

test('a listed URL that is no longer built breaks the contract, named in the message with the base', () => {
  const check = checkContract(contract(['reports/mnist/', 'reports/mnist/figures/gone/']), [
    'reports/mnist/',
  ]);
  assert.deepEqual(check.missing, ['reports/mnist/figures/gone/']);
  const message = contractError(check, '/bilinear/')!;
  assert.match(message, /\/bilinear\/reports\/mnist\/figures\/gone\/ is no longer built/);
  assert.match(message, /add "old": "new" to "moved"/);
});

test('a moved URL passes when its new address is built, and fails when it is not, or when the old one still is', () => {
  const moved = contract(['reports/mnist/figures/old/'], {
    'reports/mnist/figures/old/': 'reports/mnist/figures/new/',
  });
  assert.equal(contractError(checkContract(moved, ['reports/mnist/figures/new/']), '/'), null);
  assert.match(
    contractError(checkContract(moved, []), '/')!,
    /listed as moved to \/reports\/mnist\/figures\/new\/, which is not built/,
  );
  assert.match(
    contractError(checkContract(moved, ['reports/mnist/figures/old/', 'reports/mnist/figures/new/']), '/')!,
    /listed as moved but is still built/,
  );
});

test('new pages are reported as unlisted (not an error), and the update adds them, never dropping one', () => {
  const check = checkContract(contract(['reports/mnist/']), ['reports/mnist/', 'reports/new/']);
  assert.deepEqual(check.unlisted, ['reports/new/']);
  assert.equal(contractError(check, '/'), null);
  const updated = updateContract(contract(['reports/z/', 'reports/mnist/']), ['reports/new/']);
  assert.deepEqual(updated.urls, ['reports/mnist/', 'reports/new/', 'reports/z/']);
});

test('the list file is validated: a malformed entry names its position', () => {
  const file = join(root, 'bad.json');
  writeFileSync(file, JSON.stringify({ urls: ['/reports/mnist/'] }));
  assert.throws(() => readContract(file), /bad\.json: urls\.0: must look like reports\/<report>\//);
});

test('the committed list is valid, sorted, and lists the published reports', () => {
  const committed = readContract();
  assert.deepEqual([...committed.urls].sort(), committed.urls);
  for (const report of ['mnist', 'fashion-mnist', 'baselines'])
    assert.ok(committed.urls.includes(`reports/${report}/`), report);
  assert.ok(
    (JSON.parse(readFileSync('site/published-urls.json', 'utf8')) as { $comment: string }).$comment.includes(
      'npm run urls:update',
    ),
  );
});

test('the redirect page: immediate refresh, canonical link and a visible link, no script', () => {
  const html = redirectPage(
    '/bilinear/reports/mnist/figures/new/',
    'https://example.org/bilinear/reports/mnist/figures/new/',
  );
  assert.match(
    html,
    /<meta http-equiv="refresh" content="0; url=\/bilinear\/reports\/mnist\/figures\/new\/">/,
  );
  assert.match(
    html,
    /<link rel="canonical" href="https:\/\/example.org\/bilinear\/reports\/mnist\/figures\/new\/">/,
  );
  assert.match(html, /<a href="\/bilinear\/reports\/mnist\/figures\/new\/">/);
  assert.doesNotMatch(html, /<script/);
});

test('the contract is enforced for default builds, only warns for smoke builds, and URL_CONTRACT overrides', () => {
  assert.equal(contractMode(reportsFolder('default', { mnist: { figures: [] } }), undefined), 'enforce');
  const smoke = reportsFolder('smoke', { mnist: { figures: [], profile: 'smoke' } });
  assert.equal(contractMode(smoke, undefined), 'warn');
  assert.equal(contractMode(smoke, 'enforce'), 'enforce');
  assert.equal(contractMode(smoke, 'off'), 'off');
  assert.throws(() => contractMode(smoke, 'strict'), /URL_CONTRACT must be enforce, warn or off/);
});
