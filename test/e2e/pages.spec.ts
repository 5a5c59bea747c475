/**
 * Every page of the built site, read as a reader without JavaScript reads it, on a 390-pixel-wide
 * phone screen: its figures load, captions and citation blocks are there, and the page never
 * scrolls sideways (wide tables scroll inside their own box).
 */
import { expect, test, type Page } from '@playwright/test';
import { htmlFiles } from '../helpers/site-links.ts';

const DIST = '.smoke/dist';

/** Site paths of every page (redirect pages excluded: they only point elsewhere). */
const pages = htmlFiles(DIST).map((file) => `/${file.replace(/(^|\/)index\.html$/, '$1')}`);

function kind(path: string): 'figure' | 'figure-page' | 'report' | 'other' {
  if (/^\/reports\/[^/]+\/figures\/[^/]+\/[^/]+\/$/.test(path)) return 'figure-page';
  if (/^\/reports\/[^/]+\/figures\/[^/]+\/$/.test(path)) return 'figure';
  if (/^\/reports\/[^/]+\/$/.test(path)) return 'report';
  return 'other';
}

async function expectImagesLoaded(page: Page, selector: string): Promise<number> {
  const images = page.locator(selector);
  const count = await images.count();
  for (let i = 0; i < count; i++) {
    const img = images.nth(i);
    await img.scrollIntoViewIfNeeded();
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), {
        message: `image ${i} of ${page.url()}`,
      })
      .toBe(true);
  }
  return count;
}

/**
 * Every figure on the page shows its content: a drawing that loaded, or the HTML table or text of
 * a table or text figure. Returns how many figures there are.
 */
async function expectFiguresShown(page: Page): Promise<number> {
  const figures = page.locator('main figure');
  const count = await figures.count();
  for (let i = 0; i < count; i++) {
    const figure = figures.nth(i);
    const html = figure.locator('table.figure-table:not(details.figure-numbers table), .figure-passages');
    if ((await html.count()) > 0) {
      await expect(html.first().locator('td, p').first(), `figure ${i} of ${page.url()}`).not.toBeEmpty();
      await expect(figure.locator('img')).toHaveCount(0);
    } else {
      expect(await expectImagesLoaded(page, `main figure >> nth=${i} >> img`)).toBe(1);
    }
  }
  return count;
}

test('the smoke site has every kind of page', () => {
  const kinds = new Set(pages.map(kind));
  expect([...kinds].sort()).toEqual(['figure', 'figure-page', 'other', 'report']);
  expect(pages).toContain('/figures/');
  expect(pages).toContain('/methods/');
});

test.describe('without JavaScript, on a phone', () => {
  test.use({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });

  for (const path of pages) {
    test(`${path}`, async ({ page }) => {
      const response = await page.goto(path);
      expect(response?.status()).toBe(200);
      await expect(page.locator('h1')).toHaveCount(1);
      await expect(page.locator('script')).toHaveCount(0);
      switch (kind(path)) {
        case 'figure':
          expect(await expectFiguresShown(page)).toBe(1);
          await expect(page.locator('figcaption')).toContainText(/^Figure \d+\./);
          await expect(page.locator('.citation .short-citation')).toContainText(
            `http://localhost:4321${path}`,
          );
          // …and a local build says, visibly, that such an address is not to be cited
          await expect(page.locator('#local-build')).toBeVisible();
          await expect(page.locator('#local-build')).toContainText('http://localhost:4321/');
          await expect(page.locator('.citation pre.bibtex')).toContainText('@misc{');
          await expect(page.locator('.data-version')).toHaveText(/^[0-9a-f]{12}$/);
          await expect(page.locator('meta[name="citation_title"]')).toHaveCount(1);
          break;
        case 'figure-page':
          expect(await expectFiguresShown(page)).toBe(1);
          await expect(page.locator('figcaption')).not.toBeEmpty();
          await expect(page.locator('.citation pre.bibtex')).toContainText('@misc{');
          break;
        case 'report': {
          const figures = await expectFiguresShown(page);
          expect(figures).toBeGreaterThan(0);
          await expect(page.locator('figure figcaption')).toHaveCount(figures);
          await expect(page.locator('nav.toc a').first()).toBeVisible();
          await expect(page.locator('.citation pre.bibtex')).toContainText('@misc{');
          break;
        }
        default:
          await expectImagesLoaded(page, 'img');
      }
      // words stay apart where the markup breaks a line (the HTML compressor drops such spaces)
      const text = await page.locator('body').innerText();
      for (const glued of [/[^\s(]\(permalink/, /\S· | ·\S/, /or seehow/])
        expect(text, `${path}: ${glued}`).not.toMatch(glued);
      // nothing wider than the screen: the page itself never scrolls sideways
      const [scrollWidth, width] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      expect(scrollWidth, `${path} scrolls sideways`).toBeLessThanOrEqual(width);
      // …and no table runs off the screen inside its scroll box either: on a phone rows stack
      // (folded tables are opened first, as a reader would)
      await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
      const wide = await page.evaluate((w) => {
        const out: string[] = [];
        document.querySelectorAll('table').forEach((t) => {
          const right = t.getBoundingClientRect().right;
          if (right > w + 1) out.push(`${t.className || 'table'} reaches ${Math.round(right)} px`);
        });
        return out;
      }, width);
      expect(wide, `${path}: tables wider than the screen`).toEqual([]);
    });
  }
});
