/**
 * The paper at the front door: the home page's first screen names the paper (authors, both arXiv
 * versions) and links the claims page, which gives every claim a verdict from the built data.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { CLAIMS } from '../../site/lib/claims.ts';

test.use({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });

test("the home page's first screen names the paper and links the claims", async ({ page }) => {
  await page.goto('/');
  const paper = page.locator('p.paper');
  await expect(paper).toContainText('Pearce');
  await expect(paper).toContainText('Sharkey');
  for (const id of ['2410.08417', '2406.03947'])
    await expect(paper.locator(`a[href="https://arxiv.org/abs/${id}"]`)).toHaveCount(1);
  const link = paper.locator('a[href="/claims/"]');
  const box = await link.boundingBox();
  expect(box, 'the claims link is laid out').not.toBeNull();
  expect(box!.y + box!.height, 'the claims link is on the first screen').toBeLessThanOrEqual(800);
  await expect(page.locator('header.site nav a[href="/claims/"]')).toHaveText('Claims');
});

test('the claims page: a verdict for every claim, numbers from the data, no check left unbuilt', async ({
  page,
}) => {
  await page.goto('/claims/');
  await expect(page.locator('h2#rule')).toBeVisible();
  await expect(page.locator('table.claims-summary tbody tr')).toHaveCount(CLAIMS.length);
  for (const claim of CLAIMS) {
    const section = page.locator(`section#${claim.id}`);
    await expect(section.locator('dd .verdict')).toHaveText(
      /^(reproduced|partly|not reproduced|not yet tested)$/,
    );
    // Every report is built in this build: a claim with checks is decided, none "not built".
    if (claim.checks) {
      await expect(section.locator('.outcome')).toHaveCount(claim.checks.length);
      await expect(section.locator('.outcome-missing')).toHaveCount(0);
      await expect(section.locator('dd .verdict')).not.toHaveText('not yet tested');
    }
    if (claim.untested) await expect(section.locator('dd .verdict')).toHaveText('not yet tested');
    await expect(section.locator('dd a[href^="/reports/"]')).toHaveCount(claim.figures.length);
  }
  // A check prints the report's own numbers, with the bounds of their intervals.
  const baselines = JSON.parse(readFileSync('.smoke/reports/baselines/report.json', 'utf8')) as {
    metrics: Record<string, { display: string; interval?: { range: string } }>;
  };
  const eigen = baselines.metrics['mnist-largest-needed-eigen']!;
  await expect(page.locator('section#truncation .checks li').first()).toContainText(
    `${eigen.display} (${eigen.interval!.range})`,
  );
});
