/**
 * The site build's own guarantees, on a tiny fixture (one report, no pipeline run): a published
 * URL that disappears fails the build naming it; a moved URL gets a redirect page at its old
 * address; a narrative that names an unknown figure fails the build naming the file and the id;
 * a failed build leaves the previous site whole; an invalid report.json is named. Built with the
 * project's site script (npm run site), as a user builds it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { digest } from '../helpers/digest.ts';

const SITE = resolve('scripts/build-site.ts');
// Fixed paths (not a fresh temp folder each run): Astro keeps a data store per inputs folder.
const root = resolve('.smoke/fixtures/site-build');
const reports = join(root, 'reports');
const content = join(root, 'content');
const badContent = join(root, 'bad-content');
const out = join(root, 'dist');

const hash = (c: string) => c.repeat(64);
const provenance = {
  configHash: hash('a'),
  dataName: 'toy',
  dataSource: 'fixture',
  dataHash: hash('b'),
  datasets: [{ name: 'toy', source: 'fixture', hash: hash('b') }],
  seed: 0,
  seeds: [0],
  backend: 'cpu',
  backendDetail: 'fixture',
  tfjsVersion: '0',
  codeVersion: { figure: '0' },
  profile: 'default',
  command: 'npm run pipeline -- --only toy',
};

function writeContract(name: string, urls: string[], moved: Record<string, string> = {}): string {
  const file = join(root, name);
  writeFileSync(file, JSON.stringify({ urls, moved }));
  return file;
}

function build(env: Record<string, string>, options: { keep?: boolean } = {}) {
  if (!options.keep) rmSync(out, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [SITE], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ASTRO_TELEMETRY_DISABLED: '1',
      FORCE_COLOR: '0',
      REPORTS_DIR: reports,
      CONTENT_DIR: content,
      SITE_OUT: out,
      ...env,
    },
  });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

before(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(reports, 'toy'), { recursive: true });
  mkdirSync(content, { recursive: true });
  mkdirSync(badContent, { recursive: true });
  const report = {
    id: 'toy',
    order: 0,
    title: 'Toy: a fixture report',
    summary: 'A report with no figures.',
    profile: 'default',
    settings: {},
    metrics: {},
    figures: [],
    models: [],
    provenance,
  };
  writeFileSync(join(reports, 'toy', 'report.json'), JSON.stringify(report));
  writeFileSync(
    join(reports, 'toy', 'timings.json'),
    JSON.stringify({
      report: 'toy',
      machine: { cpus: 1, cpu: 'fixture', node: 'v22', workers: 1 },
      jobs: [],
    }),
  );
  writeFileSync(join(content, 'toy.mdx'), '---\nlede: A fixture.\n---\n\n## Only prose\n\nNothing to see.\n');
  writeFileSync(
    join(badContent, 'toy.mdx'),
    '---\nlede: A fixture.\n---\n\n## Prose\n\nAs <FigureRef id="no-such-figure" /> shows.\n',
  );
});

test('a published URL that is no longer built fails the build, naming it', () => {
  const contract = writeContract('missing.json', ['reports/toy/', 'reports/toy/figures/gone/']);
  const r = build({ URL_CONTRACT_FILE: contract, BASE_PATH: '/bilinear/' });
  assert.notEqual(r.code, 0, 'the build passed');
  assert.match(r.output, /published URL contract broken/);
  assert.match(r.output, /\/bilinear\/reports\/toy\/figures\/gone\/ is no longer built/);
  assert.doesNotMatch(r.output, /├─ \//, 'pages were rendered before the check');
  assert.equal(existsSync(out), false, 'a failed build published a site');
  assert.deepEqual(
    readdirSync(root).filter((name) => name.startsWith('.staging-')),
    [],
    'the failed build left its staging folder',
  );
});

test('a moved URL gets a redirect page at its old address (under the base path)', () => {
  const contract = writeContract('moved.json', ['reports/old-toy/', 'reports/toy/'], {
    'reports/old-toy/': 'reports/toy/',
  });
  const r = build({ URL_CONTRACT_FILE: contract, BASE_PATH: '/bilinear/', SITE_URL: 'https://example.org' });
  assert.equal(r.code, 0, r.output.slice(-3000));
  // Astro's own MDX directive warning (astro.config.mjs) is dropped at its cause.
  assert.doesNotMatch(r.output, /MODULE_LEVEL_DIRECTIVE/, 'the build printed the directive warning');
  const html = readFileSync(join(out, 'reports', 'old-toy', 'index.html'), 'utf8');
  assert.match(html, /<meta http-equiv="refresh" content="0; url=\/bilinear\/reports\/toy\/">/);
  assert.match(html, /<link rel="canonical" href="https:\/\/example.org\/bilinear\/reports\/toy\/">/);
  assert.match(html, /<a href="\/bilinear\/reports\/toy\/">/);
  assert.ok(existsSync(join(out, 'reports', 'toy', 'index.html')));
  assert.ok(existsSync(join(out, 'sitemap.xml')));
  assert.doesNotMatch(readFileSync(join(out, 'sitemap-0.xml'), 'utf8'), /old-toy/);
});

test('a narrative that references an unknown figure fails the build with the file and the id', () => {
  const contract = writeContract('ok.json', ['reports/toy/']);
  const r = build({ URL_CONTRACT_FILE: contract, CONTENT_DIR: badContent });
  assert.notEqual(r.code, 0, 'the build passed');
  assert.match(r.output, /unknown figure reference/);
  assert.match(
    r.output,
    /bad-content\/toy\.mdx:7: <FigureRef id="no-such-figure">: report 'toy' has no figure 'no-such-figure'/,
  );
});

test('a failed build leaves the previous site whole; an invalid report.json is named', () => {
  const contract = writeContract('ok.json', ['reports/toy/']);
  const good = build({ URL_CONTRACT_FILE: contract });
  assert.equal(good.code, 0, good.output.slice(-3000));
  const before = digest(out);
  assert.ok(Object.keys(before).length > 3);
  const file = join(reports, 'toy', 'report.json');
  const valid = readFileSync(file, 'utf8');
  try {
    writeFileSync(file, valid.slice(0, 40));
    const r = build({ URL_CONTRACT_FILE: contract }, { keep: true });
    assert.notEqual(r.code, 0, 'the build passed');
    assert.match(r.output, /reports\/toy\/report\.json: not valid JSON/);
    assert.match(r.output, /site build failed; .*dist\/ was left as it was/);
    assert.deepEqual(digest(out), before, 'the previous site changed');
    assert.deepEqual(
      readdirSync(root).filter((name) => name.startsWith('.staging-')),
      [],
    );
  } finally {
    writeFileSync(file, valid);
  }
});
