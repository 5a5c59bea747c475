/** A phone's form of a chart: side-by-side panels stacked in one column, by rule, and drawable. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TopLevelSpec } from 'vega-lite';
import { renderChart } from '../../pipeline/figures/charts.ts';
import { narrowSpec, PANEL_FIELD } from '../../pipeline/figures/narrow.ts';

const values = [
  { a: 'x', b: 'p', k: 1, v: 1 },
  { a: 'y', b: 'q', k: 2, v: 3 },
  { a: 'x', b: 'q', k: 1, v: 2 },
  { a: 'y', b: 'p', k: 2, v: 1 },
];
const layer = {
  mark: 'point',
  encoding: { x: { field: 'k', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } },
};
const spec = (more: Record<string, unknown>) => ({ data: { values }, ...more }) as unknown as TopLevelSpec;
const keys = (s: TopLevelSpec | undefined) => s && (s as unknown as Record<string, unknown>);

test('one panel has no narrow form; rows only are already one column', () => {
  assert.equal(narrowSpec(spec(layer)), undefined);
  assert.equal(narrowSpec(spec({ facet: { row: { field: 'a', type: 'nominal' } }, spec: layer })), undefined);
  assert.equal(
    narrowSpec(spec({ facet: { field: 'a', type: 'nominal' }, columns: 1, spec: layer })),
    undefined,
  );
});

test('hconcat stacks; wrapped facets and concat take one column', () => {
  const h = keys(narrowSpec(spec({ hconcat: [layer, layer] })))!;
  assert.equal(h['hconcat'], undefined);
  assert.equal((h['vconcat'] as unknown[]).length, 2);
  assert.equal(
    keys(narrowSpec(spec({ facet: { field: 'a', type: 'nominal' }, columns: 3, spec: layer })))!['columns'],
    1,
  );
  assert.equal(keys(narrowSpec(spec({ concat: [layer, layer], columns: 2 })))!['columns'], 1);
});

test('a column facet keeps its field, order and header, wrapped in one column', () => {
  const column = { field: 'a', type: 'nominal', title: null, sort: ['y', 'x'], header: { labelLimit: 0 } };
  const n = keys(narrowSpec(spec({ facet: { column }, spec: layer })))!;
  assert.deepEqual(n['facet'], column);
  assert.equal(n['columns'], 1);
});

test('a row-and-column grid wraps over "column · row", column by column', () => {
  const n = keys(
    narrowSpec(
      spec({
        facet: {
          column: { field: 'a', type: 'nominal', sort: ['x', 'y'] },
          row: { field: 'b', type: 'nominal', sort: ['p', 'q'] },
        },
        spec: layer,
      }),
    ),
  )!;
  assert.deepEqual(n['transform'], [{ calculate: `datum["a"] + ' · ' + datum["b"]`, as: PANEL_FIELD }]);
  assert.deepEqual((n['facet'] as { sort: string[] }).sort, ['x · p', 'x · q', 'y · p', 'y · q']);
  assert.equal(n['columns'], 1);
});

test('the narrow form of a grid draws, taller and narrower than the grid', async () => {
  const grid = spec({
    facet: { column: { field: 'a', type: 'nominal' }, row: { field: 'b', type: 'nominal' } },
    spec: { ...layer, width: 200, height: 100 },
  });
  const size = (svg: string) => /width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
  const [w, h] = size(await renderChart(grid));
  const [nw, nh] = size(await renderChart(narrowSpec(grid)!));
  assert.ok(nw! < w!, `narrow width ${nw} < ${w}`);
  assert.ok(nh! > h!, `narrow height ${nh} > ${h}`);
});

test('legends of several columns take one, so they are no wider than a panel', () => {
  const legend = { orient: 'bottom', columns: 4, labelLimit: 0 };
  const n = keys(
    narrowSpec(
      spec({
        facet: { field: 'a', type: 'nominal' },
        columns: 3,
        spec: { ...layer, encoding: { ...layer.encoding, color: { field: 'b', type: 'nominal', legend } } },
      }),
    ),
  )!;
  const color = ((n['spec'] as Record<string, unknown>)['encoding'] as Record<string, { legend: unknown }>)[
    'color'
  ]!;
  assert.deepEqual(color.legend, { ...legend, columns: 1 });
});
