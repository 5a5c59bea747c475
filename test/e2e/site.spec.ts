/**
 * The site as a reader uses it: from the home page to the MNIST report to a figure's permalink
 * page, with images that load, downloads that resolve, and no console errors.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  page.on('pageerror', (error) => errors.push(error.message));
  // a lazy image still loading when the reader clicks away is cancelled, not broken
  page.on(
    'requestfailed',
    (request) =>
      request.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`failed: ${request.url()}`),
  );
  page.on(
    'response',
    (response) => response.status() >= 400 && errors.push(`${response.status()}: ${response.url()}`),
  );
  return errors;
}

/** Every <img> on the page has loaded with real pixels. */
async function expectImagesLoaded(page: Page): Promise<number> {
  const images = page.locator('img');
  const count = await images.count();
  for (let i = 0; i < count; i++) {
    const img = images.nth(i);
    await img.scrollIntoViewIfNeeded();
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0))
      .toBe(true);
  }
  return count;
}

test('home → MNIST report → figure page: images load, nothing errors', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.locator('h1')).toContainText('bilinear');
  await page
    .locator('.report-card')
    .getByRole('link', { name: /^MNIST:/ })
    .click();
  await expect(page).toHaveURL(/\/reports\/mnist\/$/);
  await expect(page.locator('h1')).toContainText('MNIST');
  expect(await expectImagesLoaded(page)).toBe(8);
  // the test accuracy is interpolated from the emitted data, not typed
  await expect(page.locator('.metric').first()).toHaveText(/^\d+$|^\d+\.\d+%$/);

  await page
    .locator('#figure-eigenvector-gallery')
    .getByRole('link', { name: /Permalink/ })
    .click();
  await expect(page).toHaveURL(/\/reports\/mnist\/figures\/eigenvector-gallery\/$/);
  await expect(page.locator('h1')).toHaveText('Top eigenvectors of each digit');
  expect(await expectImagesLoaded(page)).toBe(1);
  await expect(page.locator('figcaption')).toContainText('eigenvalues');
  await expect(
    page.getByText('npm run pipeline -- --profile smoke --only mnist/eigenvector-gallery'),
  ).toBeVisible();
  expect(errors).toEqual([]);
});

test('every download listed on a figure page resolves', async ({ page, request }) => {
  await page.goto('/reports/mnist/figures/eigenvalue-spectra/');
  const links = await page
    .locator('#downloads + .table-scroll a')
    .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
  expect(links.length).toBeGreaterThanOrEqual(5);
  for (const href of links) {
    const response = await request.get(href);
    expect(response.status(), href).toBe(200);
    expect((await response.body()).length, href).toBeGreaterThan(0);
  }
});

test('pages are readable without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/mnist/');
  expect(await expectImagesLoaded(page)).toBe(8);
  await expect(page.locator('figcaption').first()).toBeVisible();
  await page.goto('/reports/mnist/figures/training-curves/');
  expect(await expectImagesLoaded(page)).toBe(1);
  await context.close();
});

test('the methods page states every metric and the weights layout, with the tested example', async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await page.getByRole('link', { name: 'Methods', exact: true }).click();
  await expect(page.locator('h1')).toHaveText('Methods');
  const metricsTable = page.locator('table').filter({ hasText: 'effective rank' });
  for (const metric of [
    'eigenvalue effective rank',
    'feature support',
    'periphery mass',
    'total variation',
    'eigenvectors needed',
    'cross-seed similarity',
  ]) {
    await expect(metricsTable.getByRole('cell', { name: metric, exact: true })).toBeVisible();
  }
  await expect(page.locator('pre').filter({ hasText: 'def load_safetensors' })).toBeVisible();
  // The mathematics is MathML typeset at build time (no script on the page), drawn as mathematics:
  // the identity the decomposition rests on is a display formula, with ℝ as a letter, not "R".
  expect(await page.locator('main math').count()).toBeGreaterThan(50);
  const identity = page
    .locator('.math-display math')
    .filter({ has: page.locator('annotation', { hasText: 'u^\\top \\mathrm{logits}(x) = e^\\top Q_u' }) });
  await expect(identity).toBeVisible();
  expect((await identity.boundingBox())!.height).toBeGreaterThan(12);
  await expect(page.locator('.math-display math').first()).toContainText('ℝ');
  expect(await page.locator('script').count()).toBe(0);
  expect(errors).toEqual([]);
});

test('a per-input explanation page: from the figure to an input, its image and contribution table', async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.goto('/reports/fashion-mnist/figures/input-explanations/');
  const inputs = page.locator('#pages ~ ul a');
  expect(await inputs.count()).toBeGreaterThanOrEqual(10);
  await inputs.first().click();
  await expect(page).toHaveURL(/\/reports\/fashion-mnist\/figures\/input-explanations\/test-\d{5}\/$/);
  await expect(page.locator('h1')).toContainText('predicted');
  expect(await expectImagesLoaded(page)).toBe(1);
  await expect(page.locator('table tbody tr').first()).toBeVisible();
  await expect(page.getByRole('cell', { name: 'rest' }).first()).toBeVisible();
  await page.getByRole('link', { name: /→$/ }).click();
  await expect(page).toHaveURL(/test-\d{5}\/$/);
  expect(errors).toEqual([]);
});

test('the home page: hero figure, headline numbers from the data with their intervals, a card per report', async ({
  browser,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto('/');
  expect(await expectImagesLoaded(page)).toBeGreaterThan(5);
  await expect(page.locator('figure.hero img')).toHaveAttribute(
    'src',
    '/reports/mnist/figures/eigenvector-gallery/figure.svg',
  );
  // the hero says which recipe made it, against the paper's recipe alone
  await expect(page.locator('figure.hero figcaption')).toContainText("to the paper's recipe");
  await expect(page.locator('figure.hero figcaption a[href^="/reports/mnist/"]')).not.toHaveCount(0);
  const reports = [
    'mnist',
    'fashion-mnist',
    'baselines',
    'ablations',
    'stories',
    'language',
    'finetune',
    'modular-arithmetic',
    'adversarial-masks',
  ];
  const metrics = Object.fromEntries(
    reports.map((r) => [
      r,
      (
        JSON.parse(readFileSync(`.smoke/reports/${r}/report.json`, 'utf8')) as {
          metrics: Record<string, { display: string; interval?: { range: string; how: string } }>;
        }
      ).metrics,
    ]),
  );
  const headlines = page.locator('ul.headlines > li');
  await expect(headlines).toHaveCount(7);
  // each number is the report's; a mean comes with its bounds, and its sentence says once how they were made
  for (const [i, [report, name]] of (
    [
      ['mnist', 'test-accuracy'],
      ['mnist', 'perturbation-mid-eigen-flipped'],
      ['baselines', 'mnist-largest-needed-eigen'],
      ['ablations', 'mnist-strongest-cross-seed-similarity'],
      ['language', 'cost-test'],
      ['finetune', 'finetune-test-loss'],
      ['modular-arithmetic', 'fourier-share'],
    ] as const
  ).entries()) {
    const m = metrics[report]![name]!;
    await expect(headlines.nth(i)).toContainText(m.display);
    if (m.interval) {
      await expect(headlines.nth(i)).toContainText(`${m.display} (${m.interval.range})`);
      await expect(headlines.nth(i)).toContainText(`95% intervals: ${m.interval.how}`);
    }
  }
  // once per sentence, not at every number
  await expect(headlines.nth(1).locator('.interval', { hasText: 'n = ' })).toHaveCount(1);
  await expect(headlines.nth(1)).toContainText(/95% intervals: .* n = \d+ target classes/);
  // the causal check names the fair baselines and what happens at the larger distance
  await expect(headlines.nth(1)).toContainText("another digit's eigenvectors");
  await expect(headlines.nth(1)).toContainText('principal directions');
  await expect(headlines.nth(2)).toContainText('shared by all classes');
  // two seeds are too few for an interval: the language headline says so and draws none
  await expect(headlines.nth(4)).toContainText('too few for an interval');
  await expect(headlines.nth(4).locator('.interval')).toHaveCount(0);
  // every report has a card with its picture, linked to the report
  await expect(page.locator('.report-card')).toHaveCount(reports.length);
  for (const r of reports)
    await expect(page.locator(`.report-card h3 a[href="/reports/${r}/"]`)).toBeVisible();
  await page.goto('/reports/');
  await expect(page.locator('h1')).toHaveText('All reports');
  await expect(page.locator('.report-card img')).toHaveCount(reports.length);
  expect(await expectImagesLoaded(page)).toBe(reports.length);
  await page.goto('/figures/');
  await expect(page.locator('.figure-index li img.figure-thumb').first()).toHaveAttribute(
    'src',
    /^\/thumbnails\/[a-z-]+\/[a-z0-9-]+\.webp$/,
  );
  expect(errors).toEqual([]);
  await context.close();
});

test("an unknown address gets the site's 404 page, with a way back", async ({ page, request }) => {
  const response = await request.get('/reports/no-such-report/');
  expect(response.status()).toBe(404);
  await page.goto('/no/such/page/');
  await expect(page.locator('h1')).toHaveText('Page not found');
  await page.getByRole('link', { name: 'all reports' }).click();
  await expect(page).toHaveURL(/\/reports\/$/);
});

test('the preview server answers a malformed path with 400 and keeps serving', async ({ request }) => {
  for (const bad of ['/%', '/reports/%E0%A4%A/', '/%zz']) {
    const response = await request.get(bad);
    expect(response.status(), bad).toBe(400);
  }
  expect((await request.get('/')).status()).toBe(200);
  expect((await request.get('/constructor')).status()).toBe(404);
});

test('the stories report shows its corpus card and sample stories without JavaScript, numbers from the data', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/stories/');
  await expect(page.locator('h1')).toContainText('Stories');
  // the coverage chart is a drawing; the corpus card is an HTML table and the stories HTML text
  expect(await expectImagesLoaded(page)).toBe(1);
  await expect(page.locator('#figure-corpus-card table.figure-table')).toContainText('training tokens');
  const samples = (await (await request.get('/reports/stories/figures/sample-stories/data.json')).json()) as {
    stories: string[];
  };
  expect(samples.stories.length).toBeGreaterThan(1);
  await expect(page.locator('#figure-sample-stories .figure-passages section')).toHaveCount(
    samples.stories.length,
  );
  // The narrative's counts are the card's: the figure's data says how many training stories there are.
  const card = (await (await request.get('/reports/stories/figures/corpus-card/data.json')).json()) as {
    card: { stories: { train: number } };
  };
  await expect(page.locator('main')).toContainText(
    `${card.card.stories.train.toLocaleString('en-US')} training`,
  );
  await page.goto('/reports/stories/figures/sample-stories/');
  // one passage per story, one paragraph per line of the story: never run together
  const passages = page.locator('.figure-passages section');
  await expect(passages).toHaveCount(samples.stories.length);
  for (const [i, story] of samples.stories.entries())
    await expect(passages.nth(i).locator('p:not(.passage-number)')).toHaveCount(
      story.split('\n').filter((l) => l.trim() !== '').length,
    );
  await expect(page.locator('dl.facts')).toContainText('text (shown as HTML');
  // made from data alone: no training seed or backend, and the data's own seeds
  const provenance = page.locator('table.provenance');
  await expect(provenance).toContainText('none: no model is trained upstream');
  await expect(provenance).not.toContainText('Training backend');
  await expect(provenance).toContainText('source.sampling.seed 2024');
  await expect(provenance).toContainText('split.seed 7');
  // no path of the machine that built it
  for (const p of ['/reports/stories/', '/reports/mnist/', '/reports/language/']) {
    await page.goto(p);
    await expect(page.locator('main')).not.toContainText('node_modules');
  }
  await context.close();
});

test('the language report: its figures, numbers from the data and the build times, readable without JavaScript; the files to recompute its losses download', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/language/');
  await expect(page.locator('h1')).toContainText('Language');
  expect(await expectImagesLoaded(page)).toBe(7);
  await expect(page.locator('#figure-models table.figure-table tbody tr')).toHaveCount(2);
  await expect(page.locator('#figure-vocabulary table.figure-table')).toBeVisible();
  const report = JSON.parse(readFileSync('.smoke/reports/language/report.json', 'utf8')) as {
    metrics: Record<string, { display: string }>;
    figures: string[];
  };
  expect(report.figures).toEqual([
    'models',
    'training-curves',
    'loss-comparison',
    'continuations',
    'output-tokens',
    'output-spectra',
    'explained-by-k',
    'truncated-loss',
    'vocabulary',
    'held-out-windows',
  ]);
  // the headline of the explained-by-k curves: eigen, random and PCA at k = 1, each with its interval
  for (const name of ['corr-eigen-k1', 'corr-random-k1', 'corr-pca-k1'])
    await expect(page.locator('main')).toContainText(report.metrics[name]!.display);
  const main = page.locator('main');
  for (const name of [
    'bilinear-test-loss',
    'swiglu-test-loss',
    'cost-test-seed-0',
    'cost-test-seed-1',
    'bilinear-tokens-seen',
  ])
    await expect(main).toContainText(report.metrics[name]!.display);
  // what the build took, from timings.json: the stage table and the training jobs
  await expect(page.locator('#build-time')).toBeVisible();
  await expect(page.locator('table.build-times').first()).toContainText('train');
  await expect(page.locator('table.build-times').last()).toContainText('language/bilinear');
  // both models' weights, the windows and the vocabulary: everything a reader needs to recompute the loss
  for (const model of ['bilinear', 'swiglu'])
    expect((await request.get(`/reports/language/models/${model}.safetensors`)).status(), model).toBe(200);
  const windows = await (await request.get('/reports/language/figures/held-out-windows/data.csv')).text();
  expect(windows.split('\n')[0]).toBe('split,window,ids');
  expect(windows).toContain('\ntest,0,');
  const vocabulary = await (await request.get('/reports/language/figures/vocabulary/data.csv')).text();
  expect(vocabulary.split('\n').slice(0, 3)).toEqual([
    'id,llama_id,text,train_count',
    expect.stringMatching(/^0,-1,<unk>,\d+$/),
    expect.stringMatching(/^1,1,<s>,\d+$/),
  ]);
  await page.goto('/reports/language/figures/continuations/');
  expect(await expectImagesLoaded(page)).toBe(1);
  await context.close();
});

test('the modular-addition report: its figures and the Fourier check against both nulls, from the data, without JavaScript; its weights download', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/modular-arithmetic/');
  await expect(page.locator('h1')).toContainText('Modular addition');
  const report = JSON.parse(readFileSync('.smoke/reports/modular-arithmetic/report.json', 'utf8')) as {
    metrics: Record<string, { display: string; interval?: { range: string } }>;
    figures: string[];
  };
  expect(report.figures).toEqual([
    'training-curves',
    'fourier-eigenvectors',
    'frequency-heatmap',
    'fourier-shares',
    'truncation-accuracy',
    'truncation-r2',
  ]);
  expect(await expectImagesLoaded(page)).toBe(report.figures.length);
  const main = page.locator('main');
  // the share of the top eigenvectors and both nulls, each with its interval, as the data has them
  for (const name of ['fourier-share', 'fourier-shuffled', 'fourier-chance']) {
    const m = report.metrics[name]!;
    await expect(main).toContainText(m.display);
    if (m.interval) await expect(main).toContainText(m.interval.range);
  }
  for (const name of ['modulus', 'key-frequencies', 'test-accuracy', 'validation-99-step'])
    await expect(main).toContainText(report.metrics[name]!.display);
  // the shares' figure has its numbers as a table: three rows, the eigenvectors first
  const csv = (
    await (await request.get('/reports/modular-arithmetic/figures/fourier-shares/data.csv')).text()
  )
    .trim()
    .split('\n');
  expect(csv[0]).toBe('group,mean,lo,hi,n,method');
  expect(csv.slice(1).map((line) => line.replace(/^"([^"]*)".*$|^([^,]*),.*$/, '$1$2'))).toEqual([
    'top eigenvectors',
    'eigenvectors, tokens shuffled',
    'random unit vectors',
  ]);
  for (const model of ['model', 'seed-1', 'seed-2'])
    expect(
      (await request.get(`/reports/modular-arithmetic/models/${model}.safetensors`)).status(),
      model,
    ).toBe(200);
  await context.close();
});

test('the adversarial-masks report: its masks and their nulls, numbers from the data, without JavaScript', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/adversarial-masks/');
  await expect(page.locator('h1')).toContainText('Adversarial masks');
  const report = JSON.parse(readFileSync('.smoke/reports/adversarial-masks/report.json', 'utf8')) as {
    metrics: Record<string, { display: string; interval?: { range: string } }>;
    figures: string[];
  };
  expect(report.figures).toEqual(['success-by-size', 'masks', 'masked-images']);
  expect(await expectImagesLoaded(page)).toBe(3);
  const main = page.locator('main');
  for (const name of [
    'push-encoder-mask-mid',
    'push-encoder-permuted-mid',
    'push-encoder-noise-mid',
    'suppress-encoder-mask-mid',
  ])
    await expect(main).toContainText(report.metrics[name]!.display);
  // the curves' numbers: every panel has the mask and both nulls at every size
  const rows = (
    (await (await request.get('/reports/adversarial-masks/figures/success-by-size/data.json')).json()) as {
      rows: { panel: string; method: string; k: number }[];
    }
  ).rows;
  const panels = new Set(rows.map((r) => r.panel));
  expect(panels.size).toBe(4);
  const ks = new Set(rows.map((r) => r.k));
  expect(rows.length).toBe(panels.size * 3 * ks.size);
  await context.close();
});

test('the finetune report: every model in one table, the gap to its control from the data, the β schedule and the stories, without JavaScript', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/finetune/');
  await expect(page.locator('h1')).toContainText('Finetune');
  const report = JSON.parse(readFileSync('.smoke/reports/finetune/report.json', 'utf8')) as {
    metrics: Record<string, { display: string; value: number }>;
    figures: string[];
  };
  expect(report.figures).toEqual([
    'models',
    'loss-curves',
    'beta-schedule',
    'continuations',
    'held-out-windows',
    'output-tokens',
    'output-spectra',
    'explained-by-k',
    'truncated-loss',
  ]);
  // the published weights say what they are: the finetune plainly bilinear (also as llama2.c's
  // model.bin), the control gated at β = 1
  const models = JSON.parse(readFileSync('.smoke/reports/finetune/report.json', 'utf8')) as {
    models: { id: string; description: string; checkpoint?: { name: string } }[];
  };
  expect(
    models.models.map((m) => [
      m.id,
      /bilinear MLP/.test(m.description),
      m.description.match(/β = (\d)\)/)?.[1],
    ]),
  ).toEqual([
    ['bilinear', true, undefined],
    ['control', false, '1'],
  ]);
  const checkpoint = page.getByRole('link', { name: 'bilinear.bin' });
  await expect(checkpoint).toBeVisible();
  const bin = await request.get((await checkpoint.getAttribute('href'))!);
  expect(bin.ok()).toBe(true);
  expect((await bin.body()).readInt32LE(4)).toBe(-768); // hidden_dim, negative: a bilinear MLP
  expect(await expectImagesLoaded(page)).toBe(7);
  const rows = page.locator('#figure-models table.figure-table tbody tr');
  await expect(rows).toHaveCount(5);
  // the table's finetune row and the prose say the same test loss; the gap is the two rows' difference
  await expect(rows.nth(4)).toContainText(report.metrics['finetune-test-loss']!.value.toFixed(4));
  const main = page.locator('main');
  for (const name of [
    'original-test-loss',
    'original-bilinear-test-loss',
    'control-test-loss',
    'gap',
    'tokens-seen',
    'truncation-forward',
    'truncation-eigen-k1',
    'truncation-pca-k1',
  ])
    await expect(main).toContainText(report.metrics[name]!.display);
  const { value: gap } = report.metrics['gap']!;
  expect(gap).toBeCloseTo(
    report.metrics['finetune-test-loss']!.value - report.metrics['control-test-loss']!.value,
    9,
  );
  // the schedule's figure page, and its numbers: the finetune ends at β = 0, the control stays at 1
  await page.goto('/reports/finetune/figures/beta-schedule/');
  expect(await expectImagesLoaded(page)).toBe(1);
  const csv = (await (await request.get('/reports/finetune/figures/beta-schedule/data.csv')).text())
    .trim()
    .split('\n');
  expect(csv[0]).toBe('model,step,tokens,beta');
  const last = (model: string) =>
    csv
      .filter((line) => line.startsWith(model))
      .at(-1)!
      .split(',')
      .at(-1);
  expect(last('finetune (β annealed)')).toBe('0');
  expect(last('control (β held at 1)')).toBe('1');
  await page.goto('/reports/finetune/figures/continuations/');
  expect(await expectImagesLoaded(page)).toBe(1);
  await expect(page.locator('main')).toContainText('original, β set to 0');
  await context.close();
});

test("a token page of the finetune report reads the bilinear stories15M's last MLP, and says what such a reading is", async ({
  browser,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/finetune/figures/output-tokens/');
  await expect(page.locator('figcaption').first()).toContainText('up to one positive scale per position');
  await page.locator('#pages ~ ul a', { hasText: 'girl' }).click();
  await expect(page).toHaveURL(/\/finetune\/figures\/output-tokens\/girl\/$/);
  await expect(page.locator('h1')).toContainText('girl');
  await expect(page.locator('figcaption')).toContainText('layer 5 of 6');
  const rows = page.locator('main table tbody tr');
  for (const reading of ['direct (embedding · v)', 'head 5 (OV circuit)', 'held-out context 1'])
    await expect(rows.filter({ hasText: reading }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'held-out context 1' }).first()).toContainText('⟦');
  await context.close();
});

test('a figure page shows the figure larger than the text column, its PNG at twice the drawing, and its numbers as a table', async ({
  browser,
  request,
}) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const path = '/reports/ablations/figures/heatmap-accuracy/';
  await page.goto(path);
  const img = page.locator('figure.permalink img');
  const natural = Number(await img.getAttribute('width'));
  const shown = (await img.boundingBox())!.width;
  const column = (await page.locator('main > h1').boundingBox())!.width;
  expect(shown).toBeGreaterThan(column);
  expect(shown).toBeGreaterThanOrEqual(Math.min(natural, 1400 * 0.96) - 1);
  const png = await (await request.get(`${path}figure.png`)).body();
  expect(png.readUInt32BE(16)).toBe(2 * Math.round(natural));
  await expect(page.getByRole('link', { name: 'Figure (PNG, 2×)' })).toBeVisible();
  // the heatmap's numbers, readable at any width
  await page.getByText('The numbers as a table').click();
  await expect(page.locator('details.figure-numbers table tbody tr').first()).toBeVisible();
  await page.close();
});

test('in the dark theme figures are dimmed, not glaring white, and keep their colours', async ({
  browser,
}) => {
  const filterOf = async (scheme: 'light' | 'dark') => {
    const page = await browser.newPage({ colorScheme: scheme });
    await page.goto('/reports/mnist/');
    const filter = await page
      .locator('main figure img')
      .first()
      .evaluate((el) => getComputedStyle(el).filter);
    await page.close();
    return filter;
  };
  expect(await filterOf('light')).toBe('none');
  expect(await filterOf('dark')).toMatch(/^brightness\(0\.[5-9]\d*\)$/);
});

test('a token page of the language report, without JavaScript: its spectrum, eigenvectors read through tokens and contexts, its Table 1 rows', async ({
  browser,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/reports/language/figures/output-tokens/');
  await page.locator('#pages ~ ul a', { hasText: 'girl' }).click();
  await expect(page).toHaveURL(/\/output-tokens\/girl\/$/);
  await expect(page.locator('h1')).toContainText('girl');
  await expect
    .poll(() =>
      page.locator('main figure img').evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0),
    )
    .toBe(true);
  const rows = page.locator('main table tbody tr');
  await expect(page.locator('figcaption')).toContainText('k random directions');
  for (const reading of [
    'direct (embedding · v)',
    'head 0 (OV circuit)',
    'held-out context 1',
    'tokens alone, through the MLP (eᵀ Q_u e)',
    'tokens alone, MLP and direct path',
  ]) {
    await expect(rows.filter({ hasText: reading }).first()).toBeVisible();
  }
  await expect(rows.filter({ hasText: 'held-out context 1' }).first()).toContainText('⟦');
  // every token page is listed under the figure, each at a slug of its text
  await page.goto('/reports/language/figures/output-tokens/');
  const links = await page
    .locator('#pages ~ ul a')
    .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')));
  expect(links.length).toBeGreaterThan(4);
  for (const href of links) expect(href).toMatch(/\/output-tokens\/[a-z0-9-]+\/$/);
  await context.close();
});
