/**
 * The figure job: renders one figure from upstream artifacts into the files of its permalink
 * page: the figure itself (SVG, and PNG for images), its data as JSON and CSV, and for charts
 * the Vega-Lite spec.
 */
import type { TopLevelSpec } from 'vega-lite';
import { artifact, type Artifact, type Json } from '../cache/artifact.ts';
import { codeVersion } from '../cache/code-version.ts';
import type { Job } from '../cache/runner.ts';
import { modelMeta } from '../train/job.ts';
import { toCsv, type Table } from './table.ts';

export type FigureKind = 'image' | 'chart';

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

export type FigureRenderer = (inputs: Record<string, Artifact>) => Promise<FigureOutput>;

export const FIGURE_FILES = {
  svg: 'figure.svg',
  png: 'figure.png',
  vegaLite: 'figure.vl.json',
  data: 'data.json',
  csv: 'data.csv',
} as const;

/**
 * `deps` must include `model` (a training job): the figure's provenance is that model's.
 * `config` holds the figure's own parameters; the renderer must depend on nothing else.
 */
export function figureJob(label: string, deps: Record<string, Job> & { model: Job }, config: Json, render: FigureRenderer): Job {
  return {
    stage: 'figure',
    label,
    config,
    deps,
    run: async (_ctx, inputs) => {
      const out = await render(inputs);
      const files: Record<string, Uint8Array> = {
        [FIGURE_FILES.svg]: Buffer.from(out.svg),
        [FIGURE_FILES.data]: Buffer.from(`${JSON.stringify(out.data)}\n`),
        [FIGURE_FILES.csv]: Buffer.from(toCsv(out.table)),
      };
      if (out.png) files[FIGURE_FILES.png] = out.png;
      for (const page of out.pages ?? []) files[`${page.id}.svg`] = Buffer.from(page.svg);
      if (out.vegaLite) files[FIGURE_FILES.vegaLite] = Buffer.from(`${JSON.stringify(out.vegaLite, null, 2)}\n`);
      const model = modelMeta(inputs['model']!);
      return artifact({
        meta: {
          kind: out.kind,
          alt: out.alt,
          pages: (out.pages ?? []).map(({ svg: _svg, table, ...page }) => ({ ...page, file: `${page.id}.svg`, table: { columns: table.columns, rows: table.rows } })),
          provenance: { ...model.provenance, figureCode: codeVersion('figure') },
        },
        files,
      });
    },
  };
}

/** Rounds to 7 significant digits (float32 precision) so data files stay small and stable. */
export function round7(x: number): number {
  return Number(x.toPrecision(7));
}
