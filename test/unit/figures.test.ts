/** Figure building blocks: the colour map's symmetry, CSV writing, chart rendering. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorize, divergingColor } from '../../pipeline/figures/colormap.ts';
import { renderChart } from '../../pipeline/figures/charts.ts';
import { toCsv } from '../../pipeline/figures/table.ts';
import { featurePng, gallerySvg } from '../../pipeline/figures/images.ts';
import sharp from 'sharp';

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
  const png = await featurePng(Float64Array.from({ length: 12 }, (_, i) => i - 6), 3, 4, 6, 5);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height], [20, 15]);
});

test('CSV quotes where RFC 4180 says to, and refuses NaN', () => {
  assert.equal(toCsv({ columns: ['a', 'b'], rows: [['x,y', 1], ['say "hi"', 2.5]] }), 'a,b\n"x,y",1\n"say ""hi""",2.5\n');
  assert.throws(() => toCsv({ columns: ['a'], rows: [[Number.NaN]] }), /non-finite/);
  assert.throws(() => toCsv({ columns: ['a', 'b'], rows: [[1]] }), /row 0 has 1 cells but the table has 2 columns/);
});

test('a Vega-Lite chart renders to a standalone SVG with its data drawn', async () => {
  const svg = await renderChart({
    data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
    mark: 'bar',
    encoding: { x: { field: 'x', type: 'ordinal' }, y: { field: 'y', type: 'quantitative' } },
  });
  assert.match(svg, /^<svg[^>]*width="\d+"/);
  assert.equal((svg.match(/role-mark/g) ?? []).length > 0, true);
  assert.equal(await renderChart({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } }),
    await renderChart({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } }), 'rendering is deterministic');
});

test('a gallery leaves room for its longest row label: nothing is drawn at the left edge', async () => {
  const tile = { label: 'λ 1.0', values: Float32Array.from({ length: 16 }, (_, i) => i - 8) };
  for (const label of ['T-shirt/top', 'Sneaker', '7']) {
    const { svg } = await gallerySvg([{ label, tiles: [tile, tile] }], { title: 'test', height: 4, width: 4, columnHeaders: ['a', 'b'], zoom: 4 });
    // rendered on white and trimmed: a label cut at the edge leaves no margin on the left
    const { info } = await sharp(Buffer.from(svg)).flatten({ background: '#fff' }).trim({ background: '#fff', threshold: 10 }).toBuffer({ resolveWithObject: true });
    assert.ok((info.trimOffsetLeft ?? 0) < -4, `${label}: left margin ${-(info.trimOffsetLeft ?? 0)} px`);
  }
});
