/**
 * A phone's rendering of a chart whose panels sit side by side: the same spec with its panels
 * stacked in one column, so each keeps its drawn size on a 390-pixel screen instead of shrinking
 * to a third of it. Derived from the published Vega-Lite spec by rule, for every chart at once:
 *
 * - `hconcat` becomes `vconcat`; a `concat` or wrapped facet gets one column;
 * - a facet by `column` becomes a facet wrapped in one column, with the same field, order and
 *   header;
 * - a facet by `row` and `column` becomes one wrapped facet over "column · row" (a calculated
 *   field), ordered column by column when both orders are given.
 *
 * Legends laid out in several columns take one, so they are no wider than a panel. A chart with
 * one panel has no narrow form (undefined): it shrinks to the screen as it is.
 */
import type { TopLevelSpec } from 'vega-lite';

type Spec = Record<string, unknown>;
type FacetDef = Record<string, unknown> & { field: string };

/** The name of the calculated field a row-and-column facet is wrapped over. */
export const PANEL_FIELD = 'narrow_panel';

const isObject = (x: unknown): x is Spec => x !== null && typeof x === 'object' && !Array.isArray(x);

function wrappedFromGrid(spec: Spec, row: FacetDef, column: FacetDef): Spec {
  const label = (d: FacetDef) => `datum[${JSON.stringify(d.field)}]`;
  const sort =
    Array.isArray(column['sort']) && Array.isArray(row['sort'])
      ? (column['sort'] as unknown[]).flatMap((c) =>
          (row['sort'] as unknown[]).map((r) => `${String(c)} · ${String(r)}`),
        )
      : undefined;
  const { facet: _facet, ...rest } = spec;
  return {
    ...rest,
    transform: [
      ...((spec['transform'] as unknown[] | undefined) ?? []),
      { calculate: `${label(column)} + ' · ' + ${label(row)}`, as: PANEL_FIELD },
    ],
    facet: {
      field: PANEL_FIELD,
      type: 'nominal',
      title: null,
      ...(sort ? { sort } : {}),
      header: { labelLimit: 0 },
    },
    columns: 1,
  };
}

/** A copy of a spec whose legends have one column each. */
function oneColumnLegends(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(oneColumnLegends);
  if (!isObject(x)) return x;
  return Object.fromEntries(
    Object.entries(x).map(([k, v]) => [
      k,
      k === 'legend' && isObject(v) && typeof v['columns'] === 'number'
        ? { ...v, columns: 1 }
        : oneColumnLegends(v),
    ]),
  );
}

/** The stacked form of a chart with side-by-side panels, or undefined for a one-panel chart. */
export function narrowSpec(spec: TopLevelSpec): TopLevelSpec | undefined {
  const stacked = stackedSpec(spec as unknown as Spec);
  return stacked === undefined ? undefined : (oneColumnLegends(stacked) as TopLevelSpec);
}

function stackedSpec(s: Spec): Spec | undefined {
  if (Array.isArray(s['hconcat'])) {
    const { hconcat, ...rest } = s;
    return { ...rest, vconcat: hconcat };
  }
  if (Array.isArray(s['concat'])) return s['columns'] === 1 ? undefined : { ...s, columns: 1 };
  const facet = s['facet'];
  if (!isObject(facet)) return undefined;
  if (typeof facet['field'] === 'string') return s['columns'] === 1 ? undefined : { ...s, columns: 1 };
  const row = facet['row'] as FacetDef | undefined;
  const column = facet['column'] as FacetDef | undefined;
  if (!column) return undefined; // rows only: already one column
  if (row) return wrappedFromGrid(s, row, column);
  return { ...s, facet: { ...column }, columns: 1 };
}
