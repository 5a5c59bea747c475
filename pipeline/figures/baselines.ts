/**
 * Figures of the baselines report: truncation curves with intervals (eigen, random, PCA), the
 * summary table, and the stability of eigenvectors across seeds and sizes.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Artifact } from '../cache/artifact.ts';
import { asTruncation } from '../analysis/job.ts';
import type { MethodCurve } from '../analysis/truncation-study.ts';
import { interval } from '../analysis/stats.ts';
import { asEigen, classEigen, layerOf } from '../decompose/job.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import { matchedSimilarity, runSimilarity } from '../decompose/metrics.ts';
import { Rng } from '../util/random.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { asModel } from '../train/job.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';
import { tableSvg } from './table.ts';

/** A trained model of the study: its truncation results and where its artifacts are in the inputs. */
export type StudyRun = {
  dataset: string;
  size: number;
  seed: number;
  /** Input names of its truncation, model and eigen artifacts. */
  truncation: string;
  model: string;
  eigen: string;
};

const METHODS = { eigen: 'top-k eigenvectors', random: 'k random directions', pca: 'k principal directions of the data', full: 'full model' } as const;

export type CurveRow = {
  size: number;
  method: string;
  k: number;
  mean: number;
  lo: number;
  hi: number;
  n: number;
};

/** Mean and 95% interval per (size, method, k): over seeds, and for random bases over seeds × draws. */
export function curveRows(runs: StudyRun[], inputs: Record<string, Artifact>, measure: keyof MethodCurve | 'fullAccuracy'): CurveRow[] {
  const results = runs.map((r) => ({ run: r, result: asTruncation(inputs[r.truncation], r.truncation).meta }));
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  return sizes.flatMap((size) => {
    const mine = results.filter((x) => x.run.size === size);
    const ks = mine[0]!.result.ks;
    const pick = (curve: MethodCurve, i: number) => (measure === 'fullAccuracy' ? Number.NaN : curve[measure][i]!);
    const rows: CurveRow[] = [];
    ks.forEach((k, i) => {
      const groups: [string, number[]][] = [
        [METHODS.eigen, mine.map((x) => pick(x.result.eigen, i))],
        [METHODS.random, mine.flatMap((x) => x.result.random.map((c) => pick(c, i)))],
        [METHODS.pca, mine.map((x) => pick(x.result.pca, i))],
      ];
      if (measure === 'accuracy') groups.push([METHODS.full, mine.map((x) => x.result.fullAccuracy)]);
      for (const [method, values] of groups) {
        const iv = interval(values);
        rows.push({ size, method, k, mean: round7(iv.mean), lo: round7(iv.lo), hi: round7(iv.hi), n: iv.n });
      }
    });
    return rows;
  });
}

export async function renderTruncationChart(runs: StudyRun[], inputs: Record<string, Artifact>, params: { dataset: string; measure: 'accuracy' | 'r2' | 'relativeError' }): Promise<FigureOutput> {
  const rows = curveRows(runs, inputs, params.measure);
  const label = { accuracy: 'test accuracy', r2: 'logit R²', relativeError: '‖Q − Q_k‖_F / ‖Q‖_F' }[params.measure];
  const color = { field: 'method', type: 'nominal' as const, title: null, scale: { domain: Object.values(METHODS), range: ['#b2182b', '#7f7f7f', '#2166ac', '#000000'] }, legend: { orient: 'bottom' as const, columns: 2, labelLimit: 400 } };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `${label} of the model kept to k directions per class, ${params.dataset}`,
    data: { values: rows },
    facet: { column: { field: 'size', type: 'ordinal', title: 'hidden size (d = m)' } },
    spec: {
      width: 170,
      height: 180,
      layer: [
        { mark: { type: 'errorband', opacity: 0.25 }, encoding: { x: { field: 'k', type: 'quantitative', scale: { type: 'log' }, title: 'k (log scale)' }, y: { field: 'lo', type: 'quantitative', title: label, scale: { domain: params.measure === 'r2' ? [-0.5, 1] : [0, 1], clamp: true } }, y2: { field: 'hi' }, color } },
        { mark: { type: 'line', point: { size: 18 } }, encoding: { x: { field: 'k', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative' }, color, strokeDash: { condition: { test: `datum.method === '${METHODS.full}'`, value: [4, 3] }, value: [1, 0] }, tooltip: [{ field: 'size' }, { field: 'method' }, { field: 'k' }, { field: 'mean', format: '.3f' }, { field: 'lo', format: '.3f' }, { field: 'hi', format: '.3f' }, { field: 'n' }] } },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: `${label} of ${params.dataset} models against k, one panel per hidden size, for the top-k eigenvectors, k random directions and k principal directions, with 95% intervals over seeds (and random draws).`,
    data: { rows },
    table: { columns: ['size', 'method', 'k', 'mean', 'lo', 'hi', 'n'], rows: rows.map((r) => [r.size, r.method, r.k, r.mean, r.lo, r.hi, r.n]) },
  };
}

export interface SummaryRow {
  dataset: string;
  size: number;
  method: string;
  fullAccuracy: number;
  /** The smallest k of the grid whose mean accuracy reaches 99% of the full model's, or null. */
  k99: number | null;
  at: Record<string, number>;
}

export function summaryRows(dataset: string, runs: StudyRun[], inputs: Record<string, Artifact>, atK: number[]): SummaryRow[] {
  const rows = curveRows(runs, inputs, 'accuracy');
  const sizes = [...new Set(rows.map((r) => r.size))];
  return sizes.flatMap((size) => {
    const full = rows.find((r) => r.size === size && r.method === METHODS.full)!.mean;
    return [METHODS.eigen, METHODS.random, METHODS.pca].map((method) => {
      const curve = rows.filter((r) => r.size === size && r.method === method).sort((a, b) => a.k - b.k);
      const reach = curve.find((r) => r.mean >= 0.99 * full);
      return { dataset, size, method, fullAccuracy: full, k99: reach ? reach.k : null, at: Object.fromEntries(atK.map((k) => [String(k), curve.find((r) => r.k === k)?.mean ?? Number.NaN])) };
    });
  });
}

export async function renderSummaryTable(rows: SummaryRow[], atK: number[]): Promise<FigureOutput> {
  const columns = ['data set', 'size', 'method', 'full acc.', 'k for 99%', ...atK.map((k) => `acc. k=${k}`)];
  const cells = rows.map((r) => [r.dataset, String(r.size), r.method, pct(r.fullAccuracy), r.k99 === null ? '> grid' : String(r.k99), ...atK.map((k) => pct(r.at[String(k)]!))]);
  const widths = [110, 50, 230, 80, 80, ...atK.map(() => 80)];
  return {
    kind: 'image',
    svg: tableSvg({ title: 'Summary: the k needed for 99% of full accuracy, and accuracy at small k', columns, rows: cells, widths, groupEvery: 3 }),
    alt: `A table with one row per data set, hidden size and method: the full model's accuracy, the smallest k at which the method keeps 99% of it, and the accuracy at k = ${atK.join(', ')}.`,
    data: { rows: rows.map((r) => ({ dataset: r.dataset, size: r.size, method: r.method, k99: r.k99, fullAccuracy: round7(r.fullAccuracy), at: Object.fromEntries(Object.entries(r.at).map(([k, v]) => [k, Number.isFinite(v) ? round7(v) : null])) })) },
    table: { columns: ['dataset', 'size', 'method', 'full_accuracy', 'k_for_99_percent', ...atK.map((k) => `accuracy_at_k${k}`)], rows: rows.map((r) => [r.dataset, r.size, r.method, round7(r.fullAccuracy), r.k99 ?? '', ...atK.map((k) => (Number.isFinite(r.at[String(k)]) ? round7(r.at[String(k)]!) : ''))]) },
  };
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

/** The top-r input-space features of each class of a run (unit norm not needed: similarity normalises). */
function features(run: StudyRun, inputs: Record<string, Artifact>, r: number): Float64Array[][] {
  const layer = layerOf(asModel(inputs[run.model], run.model));
  const eigen = asEigen(inputs[run.eigen], run.eigen);
  return Array.from({ length: layer.c }, (_, a) => {
    const eig = classEigen(eigen, a);
    return Array.from({ length: r }, (_, i) => inputFeature(layer, eigenvector(eig, i)));
  });
}

/** Mean over classes of the matched similarity of two runs' top-r features. */
function topSimilarity(a: Float64Array[][], b: Float64Array[][], r: number): number {
  return runSimilarity(a.map((fs) => fs.slice(0, r)), b.map((fs) => fs.slice(0, r)));
}

/**
 * Similarity of the top-r eigenvectors across seeds, for r = 1 … R, per data set and size: every
 * pair of distinct seeds (never a run with itself), averaged over classes; 95% intervals over
 * pairs. "chance" is the same statistic for random Gaussian features.
 */
export async function renderStabilityByRank(runs: StudyRun[], inputs: Record<string, Artifact>, params: { maxRank: number; seed: number }): Promise<FigureOutput> {
  const rows: { dataset: string; size: string; rank: number; mean: number; lo: number; hi: number; pairs: number }[] = [];
  const groups = [...new Set(runs.map((r) => `${r.dataset}|${r.size}`))];
  const dims = new Map<string, number>();
  for (const group of groups) {
    const [dataset, size] = group.split('|') as [string, string];
    const mine = runs.filter((r) => r.dataset === dataset && String(r.size) === size);
    const R = Math.min(params.maxRank, Number(size));
    const feats = mine.map((run) => features(run, inputs, R));
    dims.set(dataset, feats[0]![0]![0]!.length);
    for (let r = 1; r <= R; r++) {
      const values: number[] = [];
      for (let i = 0; i < feats.length; i++) for (let j = i + 1; j < feats.length; j++) values.push(topSimilarity(feats[i]!, feats[j]!, r));
      const iv = interval(values);
      rows.push({ dataset, size, rank: r, mean: round7(iv.mean), lo: round7(iv.lo), hi: round7(iv.hi), pairs: iv.n });
    }
  }
  // Chance: matched |cos| of random Gaussian features in the same input dimension.
  const rng = new Rng(params.seed);
  for (const [dataset, dim] of dims) {
    for (let r = 1; r <= params.maxRank; r++) {
      const draws = Array.from({ length: 5 }, () => {
        const set = () => Array.from({ length: r }, () => Float64Array.from({ length: dim }, () => rng.normal()));
        return matchedSimilarity(set(), set()).mean;
      });
      const iv = interval(draws);
      rows.push({ dataset, size: 'chance', rank: r, mean: round7(iv.mean), lo: round7(iv.lo), hi: round7(iv.hi), pairs: iv.n });
    }
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Matched similarity of the top-r eigenvectors between models trained from different seeds',
    data: { values: rows },
    facet: { column: { field: 'dataset', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      layer: [
        { mark: { type: 'errorband', opacity: 0.2 }, encoding: { x: { field: 'rank', type: 'quantitative', title: 'top r eigenvectors per class' }, y: { field: 'lo', type: 'quantitative', title: 'matched |cos| across seeds', scale: { domain: [0, 1] } }, y2: { field: 'hi' }, color: { field: 'size', type: 'nominal', title: 'hidden size' } } },
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'rank', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative' }, color: { field: 'size', type: 'nominal' }, tooltip: [{ field: 'size' }, { field: 'rank' }, { field: 'mean', format: '.3f' }, { field: 'pairs' }] } },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: 'Line charts per data set of the matched similarity of the top-r eigenvectors between models trained from different seeds, for each hidden size and for random features (chance).',
    data: { rows },
    table: { columns: ['dataset', 'size', 'rank', 'mean', 'lo', 'hi', 'pairs'], rows: rows.map((r) => [r.dataset, r.size, r.rank, r.mean, r.lo, r.hi, r.pairs]) },
  };
}

/** size × size: matched similarity of the top-r eigenvectors between models of two sizes (distinct models only). */
export async function renderStabilityAcrossSizes(runs: StudyRun[], inputs: Record<string, Artifact>, params: { rank: number }): Promise<FigureOutput> {
  const rows: { dataset: string; sizeA: number; sizeB: number; mean: number; pairs: number }[] = [];
  for (const dataset of [...new Set(runs.map((r) => r.dataset))]) {
    const mine = runs.filter((r) => r.dataset === dataset);
    const feats = new Map(mine.map((run) => [run, features(run, inputs, Math.min(params.rank, run.size))]));
    const sizes = [...new Set(mine.map((r) => r.size))].sort((a, b) => a - b);
    for (const sa of sizes) {
      for (const sb of sizes) {
        const values: number[] = [];
        for (const a of mine.filter((r) => r.size === sa)) {
          for (const b of mine.filter((r) => r.size === sb)) {
            if (a === b) continue; // never a run with itself
            values.push(topSimilarity(feats.get(a)!, feats.get(b)!, Math.min(params.rank, sa, sb)));
          }
        }
        const iv = interval(values);
        rows.push({ dataset, sizeA: sa, sizeB: sb, mean: round7(iv.mean), pairs: iv.n });
      }
    }
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `Matched similarity of the top ${params.rank} eigenvectors between models of two hidden sizes`,
    data: { values: rows },
    facet: { column: { field: 'dataset', type: 'nominal', title: null } },
    spec: {
      width: 200,
      height: 200,
      layer: [
        { mark: 'rect', encoding: { x: { field: 'sizeA', type: 'ordinal', title: 'hidden size' }, y: { field: 'sizeB', type: 'ordinal', title: 'hidden size', sort: 'descending' }, color: { field: 'mean', type: 'quantitative', title: 'matched |cos|', scale: { domain: [0, 1], scheme: 'viridis' } }, tooltip: [{ field: 'sizeA' }, { field: 'sizeB' }, { field: 'mean', format: '.3f' }, { field: 'pairs' }] } },
        { mark: { type: 'text', fontSize: 11 }, encoding: { x: { field: 'sizeA', type: 'ordinal' }, y: { field: 'sizeB', type: 'ordinal', sort: 'descending' }, text: { field: 'mean', format: '.2f' }, color: { condition: { test: 'datum.mean > 0.6', value: 'black' }, value: 'white' } } },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: `Heat maps per data set: for each pair of hidden sizes, the matched similarity of the top ${params.rank} eigenvectors between distinct models (the diagonal compares different seeds of one size).`,
    data: { rows },
    table: { columns: ['dataset', 'size_a', 'size_b', 'mean', 'pairs'], rows: rows.map((r) => [r.dataset, r.sizeA, r.sizeB, r.mean, r.pairs]) },
  };
}

type Runs = { runs: StudyRun[] };

export const truncationCurves = defineFigure<Record<string, unknown>, Runs & { dataset: string; measure: 'accuracy' | 'r2' | 'relativeError' }>({
  name: 'truncation-curves',
  module: import.meta.url,
  render: (inputs, { runs, ...params }) => renderTruncationChart(runs, inputs, params),
});

export const baselinesSummary = defineFigure<Record<string, unknown>, { datasets: { title: string; runs: StudyRun[] }[]; atK: number[] }>({
  name: 'baselines-summary-table',
  module: import.meta.url,
  render: (inputs, { datasets, atK }) => renderSummaryTable(datasets.flatMap((d) => summaryRows(d.title, d.runs, inputs, atK)), atK),
});

export const stabilityByRank = defineFigure<Record<string, unknown>, Runs & { maxRank: number; seed: number }>({
  name: 'stability-by-rank',
  module: import.meta.url,
  render: (inputs, { runs, ...params }) => renderStabilityByRank(runs, inputs, params),
});

export const stabilityAcrossSizes = defineFigure<Record<string, unknown>, Runs & { rank: number }>({
  name: 'stability-across-sizes',
  module: import.meta.url,
  render: (inputs, { runs, ...params }) => renderStabilityAcrossSizes(runs, inputs, params),
});
