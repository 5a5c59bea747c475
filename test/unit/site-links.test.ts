/**
 * The link checker the site tests rely on finds what it must: missing files, anchors, links outside the base.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkSite } from '../helpers/site-links.ts';

const dir = mkdtempSync(join(tmpdir(), 'site-links-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('broken files, anchors and links outside the base are reported; good ones are not', () => {
  mkdirSync(join(dir, 'a'), { recursive: true });
  writeFileSync(join(dir, 'data.csv'), 'x\n');
  writeFileSync(join(dir, 'a', 'index.html'), '<h1 id="top">A</h1>');
  writeFileSync(
    join(dir, 'index.html'),
    [
      '<link rel="canonical" href="https://example.org/base/">',
      '<a href="a/">ok</a> <a href="/base/a/#top">ok</a> <a href="data.csv">ok</a> <a href="https://elsewhere.org/x">external</a>',
      '<a href="a/#nope">bad anchor</a> <a href="/base/missing/">missing</a> <a href="/a/">outside base</a> <img src="nope.png">',
      '<meta property="og:image" content="https://example.org/base/gone.png">',
    ].join('\n'),
  );
  const { problems, links } = checkSite(dir, '/base/', 'https://example.org');
  assert.equal(links, 9);
  assert.deepEqual(
    problems.map((p) => `${p.link}: ${p.problem}`),
    [
      "a/#nope: no element with id 'nope'",
      '/base/missing/: no such file',
      '/a/: outside the base path /base/',
      'nope.png: no such file',
      'https://example.org/base/gone.png: no such file',
    ],
  );
});
