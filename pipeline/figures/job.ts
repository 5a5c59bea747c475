/**
 * Figures as jobs. A renderer is defined once, in its own module, with a name and a render
 * function of the figure's inputs and its plain parameters; a figure job names the renderer,
 * holds the parameters, and lists the renderer's module, so that:
 * - the parameters a figure is drawn with are exactly those its key hashes (no second copy in a
 *   closure);
 * - its key hashes its own renderer's code and what that imports (cache/code-version.ts), so
 *   editing one renderer re-renders its figures only.
 * A renderer also writes the words around its figure, the title and the caption, from the same
 * parameters: they live beside the code that knows what the parameters mean, and a report's plan
 * lists its figures by id, renderer, inputs and parameters alone (`figure()`). Editing a caption
 * re-renders that renderer's figures (seconds), nothing upstream of them.
 * A rendered figure is the files of its permalink page: the figure (SVG, and PNG for images),
 * its data as JSON and CSV, and for charts the Vega-Lite spec.
 */
import type { Interval, IntervalMethod } from '../analysis/stats.ts';
import type { TopLevelSpec } from 'vega-lite';
import type { Json } from '../cache/artifact.ts';
import { defineJob, type Deps, type Inputs, type Job } from '../cache/job.ts';
import { toCsv, type Table } from './table.ts';
import { renderChart } from './charts.ts';
import { narrowSpec } from './narrow.ts';

/**
 * What a figure is: an image (heatmaps, galleries), a Vega-Lite chart, a table or a text. Tables
 * and texts are shown on the site as HTML, readable and copyable at any width (their SVG stays a
 * download, for a paper).
 */
export type FigureKind = 'image' | 'chart' | 'table' | 'text';

/**
 * The HTML form of a table or text figure, in the figure's metadata (small by nature); a chart or
 * an image may carry its numbers as a table too, shown beneath the drawing (a dense heatmap's
 * labels are too small on a phone; the table reads at any width).
 */
export type FigureHtml =
  | {
      table: {
        columns: string[];
        rows: string[][];
        /** a rule above every `groupEvery`-th row */ groupEvery?: number;
      };
    }
  | { /** passages (e.g. stories), each a list of paragraphs */ passages: string[][] };

export interface FigureOutput {
  kind: FigureKind;
  svg: string;
  png?: Uint8Array;
  vegaLite?: TopLevelSpec;
  /** The numbers behind the figure, as published in data.json. */
  data: Json;
  /** The same numbers flat, as published in data.csv. */
  table: Table;
  /** A text alternative that says what the figure shows, for screen readers and search. */
  alt: string;
  /** Pages of their own under the figure's permalink (e.g. one per explained input). */
  pages?: FigurePage[];
  /**
   * For kinds 'table' and 'text': what the site shows as HTML; for a chart or an image, an optional table of
   * its numbers.
   */
  html?: FigureHtml;
}

export interface FigurePage {
  /** Kebab-case, stable: the page is at <figure permalink>/<id>/. */
  id: string;
  title: string;
  caption: string;
  alt: string;
  svg: string;
  table: Table;
}

export interface FigureRenderer<D, P> {
  /** Unique across the pipeline, kebab-case. */
  name: string;
  /** `import.meta.url` of the defining module: its code is part of the key of every figure it draws. */
  module: string;
  /** The title above the figure. */
  title(params: P): string;
  /**
   * The caption beneath it: what it shows and how to read it, its claim first. Every number in it
   * comes from the parameters (which the figure's key hashes), never from a second copy.
   */
  caption(params: P): string;
  render(inputs: Inputs<D>, params: P): Promise<FigureOutput>;
}

/** What a figure job's artifact says besides its files. */
export type FigureMeta = {
  kind: FigureKind;
  alt: string;
  renderer: string;
  pages: { id: string; title: string; caption: string; alt: string; file: string; table: Table }[];
  html?: FigureHtml;
};

export const FIGURE_FILES = {
  svg: 'figure.svg',
  /** A chart's panels stacked in one column, for a phone (narrow.ts); only for multi-panel charts. */
  narrow: 'figure-narrow.svg',
  png: 'figure.png',
  vegaLite: 'figure.vl.json',
  data: 'data.json',
  csv: 'data.csv',
} as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const RENDERERS = new Map<string, FigureRenderer<any, any>>();

/** Registers a renderer (done by its own module when imported). */
export function defineFigure<D, P>(renderer: FigureRenderer<D, P>): FigureRenderer<D, P> {
  const known = RENDERERS.get(renderer.name);
  if (known && known.module !== renderer.module)
    throw new Error(
      `figure renderer '${renderer.name}' is defined in both ${known.module} and ${renderer.module}`,
    );
  RENDERERS.set(renderer.name, renderer);
  return renderer;
}

const renderFigure = defineJob<FigureMeta, Record<string, unknown>, { renderer: string; params: Json }>({
  name: 'figure/render',
  stage: 'figure',
  module: import.meta.url,
  run: async (_ctx, inputs, { renderer, params }) => {
    const r = RENDERERS.get(renderer);
    if (!r)
      throw new Error(`no figure renderer '${renderer}' (known: ${[...RENDERERS.keys()].sort().join(', ')})`);
    const out = await r.render(inputs, params);
    checkHtml(renderer, out);
    const files: Record<string, Uint8Array> = {
      [FIGURE_FILES.svg]: Buffer.from(out.svg),
      [FIGURE_FILES.data]: Buffer.from(`${JSON.stringify(out.data)}\n`),
      [FIGURE_FILES.csv]: Buffer.from(toCsv(out.table)),
    };
    if (out.png) files[FIGURE_FILES.png] = out.png;
    for (const page of out.pages ?? []) files[`${page.id}.svg`] = Buffer.from(page.svg);
    if (out.vegaLite) {
      files[FIGURE_FILES.vegaLite] = Buffer.from(`${JSON.stringify(out.vegaLite, null, 2)}\n`);
      const narrow = narrowSpec(out.vegaLite);
      if (narrow) files[FIGURE_FILES.narrow] = Buffer.from(await renderChart(narrow));
    }
    const pages = (out.pages ?? []).map(({ svg: _svg, table, ...page }) => ({
      ...page,
      file: `${page.id}.svg`,
      table: { columns: table.columns, rows: table.rows },
    }));
    return {
      meta: { kind: out.kind, alt: out.alt, renderer, pages, ...(out.html ? { html: out.html } : {}) },
      tensors: {},
      files,
    };
  },
});

/** Tables and texts need their HTML form; a chart or an image may add a table, never passages. */
function checkHtml(renderer: string, out: FigureOutput): void {
  const textual = out.kind === 'table' || out.kind === 'text';
  if (textual && !out.html)
    throw new Error(`figure renderer '${renderer}': a ${out.kind} figure needs an HTML form`);
  if (!textual && out.html && !('table' in out.html))
    throw new Error(
      `figure renderer '${renderer}': a ${out.kind} figure's HTML form can only be a table of its numbers`,
    );
}

/** A figure drawn by `renderer` from `deps`' artifacts with `params`. */
export function figureJob<D, P>(
  label: string,
  renderer: FigureRenderer<D, P>,
  deps: Deps<D>,
  params: P,
): Job<FigureMeta> {
  return renderFigure.create(
    label,
    deps,
    { renderer: renderer.name, params: params as Json },
    { modules: [renderer.module] },
  );
}

/** A figure as a report lists it: its stable id, its words, and the job that draws it. */
export interface PlannedFigure {
  /** Stable, kebab-case: the figure's URL is /reports/<report>/figures/<id>/. */
  id: string;
  title: string;
  caption: string;
  job: Job<FigureMeta>;
}

/** The figure `id` of `report`, drawn by `renderer` from `deps`' artifacts with `params`. */
export function figure<D, P>(
  report: string,
  id: string,
  renderer: FigureRenderer<D, P>,
  deps: Deps<D>,
  params: P,
): PlannedFigure {
  return {
    id,
    title: renderer.title(params),
    caption: renderer.caption(params),
    job: figureJob(`${report}/${id}`, renderer, deps, params),
  };
}

/** Rounds to 7 significant digits (float32 precision) so data files stay small and stable. */
export function round7(x: number): number {
  return Number(x.toPrecision(7));
}

/**
 * An interval as a figure's data row holds it: rounded, with its method and n; null bounds stay null (no
 * band).
 */
export function intervalFields(iv: Interval): {
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
  interval: IntervalMethod;
} {
  const r = (x: number | null) => (x === null ? null : round7(x));
  return { mean: round7(iv.mean), lo: r(iv.lo), hi: r(iv.hi), n: iv.n, interval: iv.method };
}
