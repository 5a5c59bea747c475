/**
 * Figure building blocks: the colour map's symmetry, CSV writing, chart rendering, table and heatmap layout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorize, divergingColor } from '../../pipeline/figures/colormap.ts';
import { renderChart } from '../../pipeline/figures/charts.ts';
import { tableSvg, toCsv } from '../../pipeline/figures/table.ts';
import { escapeXml, textWidth } from '../../pipeline/figures/svg.ts';
import type { Cell, CellValue, Regime } from '../../pipeline/analysis/ablation-study.ts';
import { renderHeatmap } from '../../pipeline/figures/ablations.ts';
import { logTicks } from '../../pipeline/figures/baselines.ts';
import { METRICS, type MetricName } from '../../pipeline/analysis/ablation.ts';
import { featurePng, gallerySvg, svgToPng } from '../../pipeline/figures/images.ts';
import sharp from 'sharp';
import { signedRank } from '../../pipeline/figures/eigen-gallery.ts';
import { captionColours, colours, PALETTE } from '../../pipeline/figures/palette.ts';
import { counted } from '../../pipeline/figures/words.ts';

test('the colour map is white at zero, red for positive, blue for negative, and clamps', () => {
  const [r0, g0, b0] = divergingColor(0);
  assert.ok(r0 > 240 && g0 > 240 && b0 > 240, `zero is not near white: ${[r0, g0, b0]}`);
  const [rp, , bp] = divergingColor(1);
  const [rn, , bn] = divergingColor(-1);
  assert.ok(rp > bp && bn > rn, 'positive must be red, negative blue');
  assert.deepEqual(divergingColor(5), divergingColor(1));
  assert.deepEqual(divergingColor(-5), divergingColor(-1));
});

test('equal magnitudes get equal saturation whatever the sign (the scale is symmetric)', () => {
  for (const t of [0.2, 0.5, 0.9]) {
    const [rp, gp, bp] = divergingColor(t);
    const [rn, gn, bn] = divergingColor(-t);
    const distance = (r: number, g: number, b: number) => Math.hypot(255 - r, 255 - g, 255 - b);
    assert.ok(Math.abs(distance(rp, gp, bp) - distance(rn, gn, bn)) < 40, `asymmetric at ±${t}`);
  }
  assert.throws(() => colorize([1], 0), /limit must be positive/);
  assert.throws(() => colorize([1], Number.NaN), /limit must be positive/);
});

test('a feature becomes a PNG of the zoomed size', async () => {
  const png = await featurePng(
    Float64Array.from({ length: 12 }, (_, i) => i - 6),
    3,
    4,
    6,
    5,
  );
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height], [20, 15]);
});

test('text a model wrote becomes XML character data: markup escaped, control characters and lone surrogates made visible', () => {
  assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  assert.equal(escapeXml('x\u000Ey\u0000z\tw\n'), 'x\u240Ey\u2400z\tw\n');
  assert.equal(
    escapeXml('lone \uD800 and \uDC00, pair \uD83D\uDE00, \uFFFF'),
    'lone \uFFFD and \uFFFD, pair \uD83D\uDE00, \uFFFD',
  );
  // what is left parses as XML
  const svg = `<svg xmlns="http://www.w3.org/2000/svg"><text>${escapeXml('bytes \u0001\u001F\uDBFF!')}</text></svg>`;
  assert.ok(
    [...svg].every((c) => c >= ' ' || c === '\t' || c === '\n'),
    'no control character left',
  );
});

test('CSV quotes where RFC 4180 says to, and refuses NaN', () => {
  assert.equal(
    toCsv({
      columns: ['a', 'b'],
      rows: [
        ['x,y', 1],
        ['say "hi"', 2.5],
      ],
    }),
    'a,b\n"x,y",1\n"say ""hi""",2.5\n',
  );
  assert.throws(() => toCsv({ columns: ['a'], rows: [[Number.NaN]] }), /non-finite/);
  assert.throws(
    () => toCsv({ columns: ['a', 'b'], rows: [[1]] }),
    /row 0 has 1 cells but the table has 2 columns/,
  );
});

test('a Vega-Lite chart renders to a standalone SVG with its data drawn', async () => {
  const svg = await renderChart({
    data: {
      values: [
        { x: 1, y: 2 },
        { x: 2, y: 3 },
      ],
    },
    mark: 'bar',
    encoding: { x: { field: 'x', type: 'ordinal' }, y: { field: 'y', type: 'quantitative' } },
  });
  assert.match(svg, /^<svg[^>]*width="\d+"/);
  assert.equal((svg.match(/role-mark/g) ?? []).length > 0, true);
  assert.equal(
    await renderChart({
      data: { values: [{ x: 1, y: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'x', type: 'quantitative' } },
    }),
    await renderChart({
      data: { values: [{ x: 1, y: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'x', type: 'quantitative' } },
    }),
    'rendering is deterministic',
  );
});

test('a gallery leaves room for its longest row label: nothing is drawn at the left edge', async () => {
  const tile = { label: 'λ 1.0', values: Float32Array.from({ length: 16 }, (_, i) => i - 8) };
  for (const label of ['T-shirt/top', 'Sneaker', '7']) {
    const { svg } = await gallerySvg([{ label, tiles: [tile, tile] }], {
      title: 'test',
      height: 4,
      width: 4,
      columnHeaders: ['a', 'b'],
      zoom: 4,
    });
    // rendered on white and trimmed: a label cut at the edge leaves no margin on the left
    const { info } = await sharp(Buffer.from(svg))
      .flatten({ background: '#fff' })
      .trim({ background: '#fff', threshold: 10 })
      .toBuffer({ resolveWithObject: true });
    assert.ok((info.trimOffsetLeft ?? 0) < -4, `${label}: left margin ${-(info.trimOffsetLeft ?? 0)} px`);
  }
});

test('a drawn table: every cell ends before the next column starts, headers wrap within their column', () => {
  const columns = ['data set', 'cross-seed similarity, different classes (null)', 'validation accuracy'];
  const rows = [
    ['Fashion-MNIST', '0.0398', '37.2%'],
    ['MNIST', '−1.38e-3', '25.7%'],
  ];
  const svg = tableSvg({ title: 'T', columns, rows, widths: [40, 40, 40] });
  const texts = [
    ...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="12"( font-weight="bold")?>([^<]*)<\/text>/g),
  ].map((m) => ({ x: Number(m[1]), y: Number(m[2]), bold: m[3] !== undefined, text: m[4]! }));
  const starts = [...new Set(texts.map((t) => t.x))].sort((a, b) => a - b);
  assert.equal(starts.length, columns.length);
  for (const t of texts) {
    const next = starts.find((x) => x > t.x) ?? Number(/width="(\d+)"/.exec(svg)![1]);
    assert.ok(t.x + textWidth(t.text, 12, t.bold) <= next, `"${t.text}" at ${t.x} runs into ${next}`);
  }
  const header = texts.filter((t) => t.bold && t.x === starts[1]);
  assert.ok(header.length > 1, 'the long header takes several lines');
  assert.deepEqual(header.map((t) => t.text).join(' '), columns[1]);
  assert.ok(
    Math.max(...header.map((t) => t.y)) < Math.min(...texts.filter((t) => !t.bold).map((t) => t.y)),
    'headers above the rows',
  );
});

test('log-axis ticks are 1, 2, 5 per decade, none past the end', () => {
  assert.deepEqual(logTicks(50), [1, 2, 5, 10, 20, 50]);
  assert.deepEqual(logTicks(30), [1, 2, 5, 10, 20]);
  assert.deepEqual(logTicks(1), [1]);
});

function cell(
  dataset: string,
  latentNoise: number,
  weightDecay: number,
  value: (metric: MetricName) => CellValue,
): Cell {
  const regime: Regime = {
    id: `${latentNoise}-${weightDecay}`,
    label: '',
    kind: 'grid',
    latentNoise,
    weightDecay,
    inputNoise: 0,
    l1: 0,
    dropout: 0,
  };
  return {
    dataset,
    regime,
    values: Object.fromEntries((Object.keys(METRICS) as MetricName[]).map((m) => [m, value(m)])) as Record<
      MetricName,
      CellValue
    >,
  };
}

test('heatmaps: yellow is better for every metric, each cell shows its interval cut at the range, the CSV has no repeated column', async () => {
  const at = (mean: number, half: number): CellValue => ({
    mean,
    lo: mean - half,
    hi: mean + half,
    n: 3,
    method: 't',
    censored: false,
  });
  const cells = [0, 1].flatMap((noise) =>
    [0, 1].map((decay) => cell('mnist', noise, decay, () => at(0.5 + 0.48 * noise - 0.1 * decay, 0.05))),
  );
  for (const metric of ['accuracy', 'effectiveRank', 'crossSeedNull'] as MetricName[]) {
    const out = await renderHeatmap(cells, metric, 10);
    const spec = JSON.stringify(out.vegaLite);
    assert.equal(
      spec.includes('"reverse":true'),
      METRICS[metric].better === 'lower',
      `${metric}: the viridis scale runs so that yellow is better`,
    );
    assert.ok(
      spec.includes(`yellow = better (${METRICS[metric].better})`),
      `${metric}: the legend says which way is better`,
    );
    assert.equal(
      new Set(out.table.columns).size,
      out.table.columns.length,
      `${metric}: ${out.table.columns.join(',')}`,
    );
    const rows = (out.data as { rows: { lo: number; hi: number }[] }).rows;
    if (metric === 'effectiveRank') {
      for (const r of rows)
        assert.ok(r.lo >= 1, `an effective rank's interval is cut at 1: [${r.lo}, ${r.hi}]`);
    } else {
      for (const r of rows)
        assert.ok(r.lo >= 0 && r.hi <= 1, `${metric}: [${r.lo}, ${r.hi}] is cut at [0, 1]`);
      assert.ok(
        out.svg.includes('[0.930, 1.00]') || out.svg.includes('[93.0, 100.0]'),
        `${metric}: the cut interval of the top cell is drawn`,
      );
    }
    assert.ok(
      out.html && 'table' in out.html && out.html.table.rows.length === cells.length,
      'the numbers come as a table too',
    );
  }
});

test("a figure's PNG is exactly twice its SVG in pixels", async () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="333" height="71" viewBox="0 0 333 71"><rect width="333" height="71" fill="#fff"/></svg>';
  const meta = await sharp(await svgToPng(svg)).metadata();
  assert.deepEqual([meta.width, meta.height], [666, 142]);
});

test('an eigenvector is named by its sign and its rank within that sign, as the gallery labels it', () => {
  const values = [0.9, -0.8, 0.5, -0.3, 0.1, 0]; // the |λ| order
  assert.deepEqual(
    values.map((_, i) => signedRank(values, i)),
    ['+1', '−1', '+2', '−2', '+3', '+4'],
  );
});

test('the palette: one colour per entity, one hex per colour word', () => {
  const hexes = Object.values(PALETTE).map((s) => s.hex);
  assert.equal(new Set(hexes).size, hexes.length, 'two entities share a colour');
  const names = Object.values(PALETTE).map((s) => s.name);
  assert.equal(new Set(names).size, names.length, 'two entities share a colour word');
  assert.deepEqual(colours('eigen', 'pcaShared'), [PALETTE.eigen.hex, PALETTE.pcaShared.hex]);
  assert.equal(captionColours().get('orange'), PALETTE.pcaShared.hex);
  assert.equal(captionColours().has('light blue'), false);
});

test('counts take their noun in the singular for one', () => {
  assert.equal(counted(1, 'epoch'), '1 epoch');
  assert.equal(counted(40, 'epoch'), '40 epochs');
  assert.equal(counted(12000, 'token'), '12,000 tokens');
});
