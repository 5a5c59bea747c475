/**
 * What makes a figure citable, as a reader and a reference manager see it: the permalink page's
 * citation, data version, provenance and OpenGraph image; numbered figures and links to them in
 * report prose; the figures index and its filters (no JavaScript); the manifest of every file;
 * the sitemap; and every URL of the committed list.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

test.use({ javaScriptEnabled: false });

test('a figure page: citation, data version, every model, OpenGraph image, neighbours', async ({
  page,
  request,
}) => {
  const path = '/reports/baselines/figures/stability-by-rank/';
  await page.goto(path);
  const data = await request.get(`${path}data.json`);
  const version = sha256(await data.body()).slice(0, 12);
  await expect(page.locator('.data-version')).toHaveText(version);
  await expect(page.locator('.short-citation')).toContainText(`data version ${version}`);
  await expect(page.locator('.short-citation')).toContainText(`http://localhost:4321${path}`);
  await expect(page.locator('pre.bibtex')).toContainText(`url          = {http://localhost:4321${path}}`);
  await expect(page.locator('meta[name="citation_public_url"]')).toHaveAttribute(
    'content',
    `http://localhost:4321${path}`,
  );
  await expect(page.locator('meta[name="citation_author"]')).toHaveAttribute(
    'content',
    'Bilinear reports contributors',
  );
  // an aggregate figure lists every model of the sweep (2 data sets × 2 sizes × 3 seeds), each with weights
  // that resolve
  const weights = page.locator('table.models a');
  await expect(weights).toHaveCount(12);
  for (const href of await weights.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))) {
    expect((await request.get(href)).status(), href).toBe(200);
  }
  await expect(page.locator('pre.command')).toHaveText(
    'npm run pipeline -- --profile smoke --only baselines/stability-by-rank',
  );
  // og:image is the figure's PNG at its permanent path
  const og = await page.locator('meta[property="og:image"]').getAttribute('content');
  expect(og).toBe(`http://localhost:4321${path}figure.png`);
  const png = await request.get(`${path}figure.png`);
  expect(png.headers()['content-type']).toBe('image/png');
  expect((await png.body()).subarray(1, 4).toString()).toBe('PNG');
  await expect(page.locator('a[rel="prev"]')).toHaveAttribute(
    'href',
    '/reports/baselines/figures/summary-table/',
  );
  await expect(page.locator('a[rel="next"]')).toHaveAttribute(
    'href',
    '/reports/baselines/figures/stability-across-sizes/',
  );
});

test('a report: contents, numbered figures with anchors, references in prose, its own citation', async ({
  page,
}) => {
  await page.goto('/reports/mnist/');
  await expect(page.locator('nav.toc a', { hasText: 'Cite' })).toHaveAttribute('href', '#cite');
  await expect(page.locator('#figure-eigenvector-gallery figcaption')).toContainText(
    /^Figure 2\. Top eigenvectors/,
  );
  const ref = page.locator('a.figure-ref', { hasText: 'Figure 2' }).first();
  await expect(ref).toHaveAttribute('href', '#figure-eigenvector-gallery');
  await ref.click();
  await expect(page).toHaveURL(/#figure-eigenvector-gallery$/);
  await expect(page.locator('.citation .short-citation')).toContainText(
    'http://localhost:4321/reports/mnist/',
  );
  await page.goto('/reports/baselines/');
  // a reference to another report's figure links to its permalink page
  await expect(page.locator('a.figure-ref', { hasText: 'of the MNIST report' })).toHaveAttribute(
    'href',
    '/reports/mnist/figures/eigenvector-gallery/',
  );
});

test('the figures index lists every figure, and filters by report and kind without JavaScript', async ({
  page,
}) => {
  await page.goto('/figures/');
  const items = page.locator('li[data-kind]');
  const built = readdirSync('.smoke/reports').filter((r) => existsSync(`.smoke/reports/${r}/report.json`));
  const expected = built.reduce(
    (n, r) =>
      n +
      (JSON.parse(readFileSync(`.smoke/reports/${r}/report.json`, 'utf8')) as { figures: string[] }).figures
        .length,
    0,
  );
  await expect(items).toHaveCount(expected);
  await page.getByLabel('charts').check();
  await expect(page.locator('li[data-kind="image"]').first()).toBeHidden();
  await expect(page.locator('li[data-kind="chart"]').first()).toBeVisible();
  await page.getByLabel('mnist', { exact: true }).check();
  await expect(page.locator('section[data-report="baselines"]')).toBeHidden();
  await expect(page.locator('li[data-report="mnist"][data-kind="chart"]').first()).toBeVisible();
  await expect(page.locator('li[data-report="mnist"][data-kind="image"]').first()).toBeHidden();
});

test('manifest.json lists every artifact with a SHA-256 that matches what is served', async ({ request }) => {
  const manifest = (await (await request.get('/manifest.json')).json()) as {
    base: string;
    artifacts: { path: string; sha256: string; role: string }[];
  };
  expect(manifest.base).toBe('/');
  const roles = new Set(manifest.artifacts.map((a) => a.role));
  for (const role of ['figure', 'png', 'vega-lite', 'data-json', 'data-csv', 'meta', 'weights'])
    expect(roles).toContain(role);
  for (const artifact of manifest.artifacts) {
    const response = await request.get(artifact.path);
    expect(response.status(), artifact.path).toBe(200);
    expect(sha256(await response.body()), artifact.path).toBe(artifact.sha256);
  }
});

test('sitemap.xml names every page, and every URL of the committed list is served', async ({ request }) => {
  const sitemap = await (await request.get('/sitemap.xml')).text();
  const child = /<loc>http:\/\/localhost:4321(\/[^<]+)<\/loc>/.exec(sitemap)![1]!;
  const urls = await (await request.get(child)).text();
  expect(urls).toContain('<loc>http://localhost:4321/reports/mnist/figures/eigenvector-gallery/</loc>');
  expect(urls).toContain('<loc>http://localhost:4321/figures/</loc>');
  const contract = JSON.parse(readFileSync('site/published-urls.json', 'utf8')) as {
    urls: string[];
    moved: Record<string, string>;
  };
  expect(contract.urls.length).toBeGreaterThan(0);
  for (const url of contract.urls) {
    const response = await request.get(`/${contract.moved[url] ?? url}`);
    expect(response.status(), `/${url}`).toBe(200);
  }
});
