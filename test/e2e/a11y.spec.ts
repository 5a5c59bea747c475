/**
 * Accessibility: axe-core on one page of each type, in the light and the dark theme (colour
 * contrast differs). No serious or critical violation is allowed; minor and moderate ones are
 * printed so they stay visible.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

const PAGES: [string, string][] = [
  ['home', '/'],
  ['methods', '/methods/'],
  ['report', '/reports/mnist/'],
  ['language report (build times, continuations)', '/reports/language/'],
  ['figure page', '/reports/baselines/figures/stability-by-rank/'],
  ['figure sub-page', '/reports/fashion-mnist/figures/input-explanations/'],
  ['figures index', '/figures/'],
  ['reports index', '/reports/'],
  ['not found', '/no/such/page/'],
  ['table figure', '/reports/stories/figures/corpus-card/'],
  ['token page', '/reports/language/figures/output-tokens/girl/'],
];

for (const scheme of ['light', 'dark'] as const) {
  test.describe(`${scheme} theme`, () => {
    test.use({ colorScheme: scheme });
    for (const [name, path] of PAGES) {
      test(`${name} (${path}) has no serious or critical axe violations`, async ({ page }, info) => {
        await page.goto(path);
        if (name === 'figure sub-page') {
          // the first input's own page, reached as a reader does
          await page.locator('#pages ~ ul a').first().click();
          await expect(page).toHaveURL(/\/input-explanations\/[^/]+\/$/);
        }
        const results = await new AxeBuilder({ page })
          .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
          .analyze();
        const byImpact: Record<string, number> = {};
        for (const v of results.violations)
          byImpact[v.impact ?? 'unknown'] = (byImpact[v.impact ?? 'unknown'] ?? 0) + v.nodes.length;
        info.annotations.push({
          type: 'axe',
          description: `${name} ${scheme}: ${JSON.stringify(byImpact)} (${results.passes.length} rules passed)`,
        });
        if (results.violations.length > 0) {
          console.log(
            `axe ${name} (${scheme}):`,
            results.violations.map((v) => `${v.impact} ${v.id} ×${v.nodes.length}: ${v.help}`).join('; '),
          );
        }
        const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect(
          blocking.map(
            (v) =>
              `${v.id}: ${v.help} (${v.nodes
                .map((n) => n.target.join(' '))
                .slice(0, 3)
                .join(', ')})`,
          ),
        ).toEqual([]);
      });
    }
  });
}
