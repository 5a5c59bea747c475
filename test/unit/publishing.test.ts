/** Publishing: the base path from any spelling, and the GitHub Pages workflow's essential steps. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { LOCAL_SITE, normalizeBase, siteAddress } from '../../site/lib/base.ts';

test('BASE_PATH in any spelling gives one base with a slash at each end', () => {
  for (const value of [undefined, '', '/', '//']) assert.equal(normalizeBase(value), '/');
  for (const value of ['bilinear', '/bilinear', '/bilinear/', 'bilinear/', ' /bilinear '])
    assert.equal(normalizeBase(value), '/bilinear/');
  assert.equal(normalizeBase('/a/b'), '/a/b/');
});

interface Step {
  uses?: string;
  run?: string;
  id?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}

test('the Pages workflow builds with npm run build under the Pages address, keeps .cache/, and deploys', () => {
  const workflow = parse(readFileSync('.github/workflows/pages.yml', 'utf8')) as {
    jobs: Record<string, { steps: Step[]; needs?: string }>;
  };
  const build = workflow.jobs['build']!.steps;
  const uses = (name: string) => build.find((s) => s.uses?.startsWith(`${name}@`));
  const pages = uses('actions/configure-pages');
  assert.ok(pages?.id, 'configure-pages needs an id for its outputs');
  assert.equal(uses('actions/cache')?.with?.['path'], '.cache');
  const run = build.find((s) => s.run?.trim() === 'npm run build');
  assert.ok(run, 'no npm run build step');
  assert.equal(run.env?.['BASE_PATH'], `\${{ steps.${pages.id}.outputs.base_path }}`);
  assert.equal(run.env?.['SITE_URL'], `\${{ steps.${pages.id}.outputs.origin }}`);
  assert.equal(uses('actions/upload-pages-artifact')?.with?.['path'], 'dist');
  assert.ok(
    build.indexOf(uses('actions/cache')!) < build.indexOf(run),
    'the cache is restored after the build',
  );
  const deploy = workflow.jobs['deploy']!;
  assert.equal(deploy.needs, 'build');
  assert.ok(deploy.steps.some((s) => s.uses?.startsWith('actions/deploy-pages@')));
});

test('a local build names the local address and knows it; a publishing build refuses it', () => {
  assert.deepEqual(siteAddress({}), { site: LOCAL_SITE, local: true });
  assert.deepEqual(siteAddress({ SITE_URL: 'http://127.0.0.1:8080' }), {
    site: 'http://127.0.0.1:8080',
    local: true,
  });
  assert.deepEqual(siteAddress({ SITE_URL: 'https://example.org/' }), {
    site: 'https://example.org',
    local: false,
  });
  assert.deepEqual(siteAddress({ SITE_URL: 'https://example.org', PUBLISH: '1' }), {
    site: 'https://example.org',
    local: false,
  });
  assert.throws(() => siteAddress({ PUBLISH: '1' }), /PUBLISH is set but SITE_URL is not/);
  assert.throws(() => siteAddress({ PUBLISH: '1', SITE_URL: ' ' }), /SITE_URL is not/);
  assert.throws(
    () => siteAddress({ PUBLISH: 'true', SITE_URL: 'http://localhost:4321' }),
    /this machine's address/,
  );
  assert.throws(() => siteAddress({ SITE_URL: 'example.org' }), /not an address|must start with https/);
  assert.throws(() => siteAddress({ SITE_URL: 'ftp://example.org' }), /must start with https/);
  assert.throws(() => siteAddress({ SITE_URL: 'https://owner.github.io/repo' }), /BASE_PATH=\/repo/);
});

test('the Pages workflow builds for publishing, so a missing address fails the build', () => {
  const workflow = parse(readFileSync('.github/workflows/pages.yml', 'utf8')) as {
    jobs: { build: { steps: { env?: Record<string, string> }[] } };
  };
  const build = workflow.jobs.build.steps.find((s) => s.env?.['SITE_URL'] !== undefined);
  assert.equal(build?.env?.['PUBLISH'], '1');
});
