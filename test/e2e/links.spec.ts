/**
 * No broken internal link or anchor anywhere in the built site; and the same site built under a
 * base path (as GitHub Pages serves a project site), where every link, download, manifest path and
 * redirect must stay under the base, and a moved figure leaves a working redirect page.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { checkSite } from '../helpers/site-links.ts';
import { pageWeights } from '../../scripts/page-weight.ts';

test('every internal link and anchor of the site resolves', () => {
  const { pages, links, problems } = checkSite('.smoke/dist', '/', 'http://localhost:4321');
  expect(pages).toBeGreaterThan(20);
  expect(links).toBeGreaterThan(500);
  expect(problems).toEqual([]);
});

test('no page loads more than 1 MB at once: images below the fold wait until scrolled to', () => {
  const weights = pageWeights('.smoke/dist');
  expect(weights.length).toBeGreaterThan(20);
  const heavy = weights.filter((w) => w.firstLoad > 1024 * 1024);
  expect(heavy, 'pages over 1 MB on first load').toEqual([]);
  // a report page's figures after the first are lazy
  const mnist = weights.find((w) => w.page === '/reports/mnist/')!;
  expect(mnist.lazy).toBeGreaterThan(0);
});

test.describe('built under a base path', () => {
  const BASE = '/bilinear/';
  const OUT = '.smoke/dist-base';
  const PORT = 4393;
  const OLD = 'reports/mnist/figures/eigen-gallery/';
  const NEW = 'reports/mnist/figures/eigenvector-gallery/';
  let server: ChildProcess | undefined;

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    // the committed list, plus a figure that moved: the build must leave a redirect at its old URL
    const contract = JSON.parse(readFileSync('site/published-urls.json', 'utf8')) as {
      urls: string[];
      moved: Record<string, string>;
    };
    mkdirSync('.smoke/fixtures', { recursive: true });
    const contractFile = '.smoke/fixtures/moved-urls.json';
    writeFileSync(
      contractFile,
      JSON.stringify({ urls: [...contract.urls, OLD].sort(), moved: { ...contract.moved, [OLD]: NEW } }),
    );
    const build = spawnSync(process.execPath, ['scripts/build-site.ts'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        ASTRO_TELEMETRY_DISABLED: '1',
        REPORTS_DIR: '.smoke/reports',
        SITE_OUT: OUT,
        BASE_PATH: BASE,
        SITE_URL: 'https://example.org',
        URL_CONTRACT: 'enforce',
        URL_CONTRACT_FILE: contractFile,
      },
    });
    expect(build.status, build.stderr + build.stdout.slice(-2000)).toBe(0);
    server = spawn(process.execPath, ['test/e2e/serve.ts', OUT, String(PORT), BASE], { stdio: 'ignore' });
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${PORT}${BASE}`).catch(() => null))?.status, {
        timeout: 10_000,
      })
      .toBe(200);
  });

  test.afterAll(() => {
    server?.kill();
  });

  test('every link, download and canonical URL stays under the base and resolves', () => {
    const { problems, links } = checkSite(OUT, BASE, 'https://example.org');
    expect(links).toBeGreaterThan(500);
    expect(problems).toEqual([]);
    const manifest = JSON.parse(readFileSync(`${OUT}/manifest.json`, 'utf8')) as {
      base: string;
      site: string;
      artifacts: { path: string }[];
    };
    expect(manifest.base).toBe(BASE);
    expect(manifest.site).toBe(`https://example.org${BASE}`);
    for (const a of manifest.artifacts) expect(a.path.startsWith(BASE), a.path).toBe(true);
  });

  test('pages and figures load under the base, and the moved URL redirects without JavaScript', async ({
    browser,
  }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const origin = `http://127.0.0.1:${PORT}`;
    await page.goto(`${origin}${BASE}${NEW}`);
    const img = page.locator('figure img');
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0))
      .toBe(true);
    await expect(page.locator('meta[property="og:image"]')).toHaveAttribute(
      'content',
      `https://example.org${BASE}${NEW}figure.png`,
    );
    await expect(page.locator('.short-citation')).toContainText(`https://example.org${BASE}${NEW}`);

    const redirect = readFileSync(`${OUT}/${OLD}index.html`, 'utf8');
    expect(redirect).toContain(`<meta http-equiv="refresh" content="0; url=${BASE}${NEW}">`);
    expect(redirect).toContain(`<link rel="canonical" href="https://example.org${BASE}${NEW}">`);
    expect(redirect).toContain(`<a href="${BASE}${NEW}">`);
    await page.goto(`${origin}${BASE}${OLD}`);
    await expect(page).toHaveURL(`${origin}${BASE}${NEW}`);
    await expect(page.locator('h1')).toHaveText('Top eigenvectors of each digit');
    await context.close();
  });
});
