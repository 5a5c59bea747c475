/**
 * Figures of the regularization ablations: a heatmap per metric over the latent-noise × weight-decay
 * grid, the same class's top eigenvector in every cell, the comparators beside the grid's middle
 * cell (gallery and table), and accuracy against each interpretability metric, one point per run.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CELL_ONLY_METRICS, METRICS, type MetricName, type RunScores } from '../analysis/ablation.ts';
import {
  distinctRuns,
  metricRange,
  studyPoints,
  summarizeCells,
  type AblationRun,
  type Cell,
  type CellValue,
  type Lookup,
  type Regime,
  type RunPoint,
} from '../analysis/ablation-study.ts';
import { ablationOf } from '../analysis/job.ts';
import { clamped } from '../analysis/stats.ts';
import { datasetTitle, IDX_SOURCES } from '../data/sources.ts';
import { interpolatePlasma } from 'd3-scale-chromatic';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { gallerySvg, svgToPng, type GalleryRow } from './images.ts';
import { defineFigure, intervalFields, round7, type FigureOutput } from './job.ts';
import { formatValue } from './svg.ts';
import { tableFigure } from './table.ts';
import { SCALE_BETTER_END } from './palette.ts';

function display(name: MetricName, v: CellValue): string {
  if (name === 'accuracy') return `${(v.mean * 100).toFixed(1)}%`;
  if (name === 'eigenvectorsNeeded') return v.censored ? `≥ ${v.mean.toFixed(1)}` : v.mean.toFixed(1);
  return formatValue(v.mean);
}

export function kebab(name: MetricName): string {
  return name.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
}

/**
 * A cell's 95% interval as its second line of text: "[lo, hi]" (percent points for accuracy), empty without
 * one.
 */
function intervalText(name: MetricName, v: CellValue): string {
  if (v.lo === null || v.hi === null) return '';
  if (name === 'accuracy') return `[${(v.lo * 100).toFixed(1)}, ${(v.hi * 100).toFixed(1)}]`;
  return `[${formatValue(v.lo)}, ${formatValue(v.hi)}]`;
}

/**
 * Heatmap of one metric over the grid, one panel per data set. The colour scale runs the same way
 * for every metric: yellow is better (viridis, reversed where lower is better), said in the legend.
 * Each cell shows its mean over seeds, its 95% interval over seeds beneath, and (for other
 * metrics) its accuracy, so the spread is read beside the colour. Intervals are cut at the
 * metric's range, and the data says so.
 */
export async function renderHeatmap(cells: Cell[], metric: MetricName, maxK: number): Promise<FigureOutput> {
  const grid = cells.filter((c) => c.regime.kind === 'grid');
  const [min, max] = metricRange(metric, maxK);
  const rows = grid.map((c) => {
    const v = { ...clamped(c.values[metric], min, max), censored: c.values[metric].censored };
    return {
      dataset: datasetTitle(c.dataset),
      latentNoise: c.regime.latentNoise,
      weightDecay: c.regime.weightDecay,
      ...intervalFields(v),
      seeds: v.n,
      censored: v.censored,
      label: display(metric, v),
      intervalLabel: intervalText(metric, v),
      accuracy: round7(c.values.accuracy.mean),
      accuracyLabel: metric === 'accuracy' ? '' : `acc ${display('accuracy', c.values.accuracy)}`,
    };
  });
  const better = METRICS[metric].better;
  // Text colour per cell: dark on the light (yellow) half of its panel's colour range, light on the dark
  // half.
  const textColor = rows.map((r) => {
    const panel = rows.filter((o) => o.dataset === r.dataset).map((o) => o.mean);
    const [lo, hi] = [Math.min(...panel), Math.max(...panel)];
    const t = hi === lo ? 1 : (r.mean - lo) / (hi - lo);
    return (better === 'higher' ? t : 1 - t) > 0.5 ? 'black' : 'white';
  });
  const values = rows.map((r, i) => ({ ...r, textColor: textColor[i]! }));
  const { label } = METRICS[metric];
  const axis = {
    x: { field: 'weightDecay', type: 'ordinal', title: 'weight decay λ', axis: { labelAngle: 0 } },
    y: { field: 'latentNoise', type: 'ordinal', title: 'latent noise σ' },
  } as const;
  const lines =
    metric === 'accuracy'
      ? [
          { field: 'label', dy: -6, size: 12 },
          { field: 'intervalLabel', dy: 8, size: 9 },
        ]
      : [
          { field: 'label', dy: -11, size: 12 },
          { field: 'intervalLabel', dy: 2, size: 9 },
          { field: 'accuracyLabel', dy: 14, size: 9 },
        ];
  const legendTitle = [label, `yellow = better (${better})`];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `${label} over the latent-noise × weight-decay grid (mean over seeds, 95% interval beneath)`,
    data: { values },
    facet: {
      column: { field: 'dataset', type: 'nominal', title: null, sort: IDX_SOURCES.map((d) => d.title) },
    },
    spec: {
      width: 340,
      height: 260,
      encoding: axis,
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: {
              field: 'mean',
              type: 'quantitative',
              title: legendTitle,
              scale: { scheme: 'viridis', reverse: better === 'lower' },
              legend: { orient: 'top', direction: 'horizontal', gradientLength: 220, titleLimit: 600 },
            },
            tooltip: [
              { field: 'latentNoise', title: 'latent noise' },
              { field: 'weightDecay', title: 'weight decay' },
              { field: 'mean', title: label, format: '.4~g' },
              { field: 'lo', format: '.4~g' },
              { field: 'hi', format: '.4~g' },
              { field: 'accuracy', format: '.2%' },
              { field: 'seeds' },
            ],
          },
        },
        // one text layer per text colour and line: a colour field would join the per-panel colour scales
        ...(['black', 'white'] as const).flatMap((color) =>
          lines.map((line) => ({
            transform: [{ filter: `datum.textColor === '${color}'` }],
            mark: { type: 'text' as const, dy: line.dy, fontSize: line.size, color },
            encoding: { text: { field: line.field } },
          })),
        ),
      ],
    },
    resolve: { scale: { color: 'independent' } },
    config: CHART_CONFIG,
  };
  const direction =
    metric === 'crossSeedNull'
      ? 'a null: lower means more class-specific features'
      : better === 'higher'
        ? 'higher is better'
        : 'lower means simpler features';
  const seeds = Math.max(...rows.map((r) => r.seeds));
  const method =
    rows[0]?.interval === 'jackknife' ? 'leave-one-seed-out jackknife over seed pairs' : 't over seeds';
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Heatmaps of ${label} (${direction}; yellow is better) for each ` +
      `combination of latent noise (rows) and weight decay (columns), one ` +
      `panel per data set, each cell labelled with its mean over ${seeds} ` +
      `seeds and its 95% interval (${method})` +
      `${metric === 'accuracy' ? '' : ', and its validation accuracy'}.`,
    data: {
      metric,
      label,
      better,
      intervals: `95% intervals, ${method}, n = ${seeds} seeds; cut at the metric's range [${min}, ${max}]`,
      rows: values.map(({ textColor: _t, label: _l, intervalLabel: _i, accuracyLabel: _a, ...r }) => r),
    },
    table: {
      columns: [
        'dataset',
        'latent_noise',
        'weight_decay',
        `${metric}_mean`,
        `${metric}_lo`,
        `${metric}_hi`,
        'seeds',
        'censored',
        ...(metric === 'accuracy' ? [] : ['accuracy_mean']),
      ],
      rows: rows.map((r) => [
        r.dataset,
        r.latentNoise,
        r.weightDecay,
        r.mean,
        r.lo ?? '',
        r.hi ?? '',
        r.seeds,
        r.censored ? 'yes' : 'no',
        ...(metric === 'accuracy' ? [] : [r.accuracy]),
      ]),
    },
    html: {
      table: {
        columns: [
          'data set',
          'latent noise σ',
          'weight decay λ',
          `${label}, mean`,
          '95% interval',
          ...(metric === 'accuracy' ? [] : ['accuracy']),
        ],
        rows: rows.map((r) => [
          r.dataset,
          String(r.latentNoise),
          String(r.weightDecay),
          r.label,
          r.intervalLabel || 'none',
          ...(metric === 'accuracy' ? [] : [r.accuracyLabel.replace('acc ', '')]),
        ]),
      },
    },
  };
}

/**
 * Unit-norm features with their signs aligned to a reference (an eigenvector's sign is arbitrary,
 * so each is flipped to have a non-negative dot product with the reference), and one colour limit
 * for them all: the 99.5th percentile of |value|, so that a few extreme pixels do not wash out the rest.
 */
export function alignedTiles(
  features: ArrayLike<number>[],
  reference: ArrayLike<number>,
): { tiles: Float64Array[]; limit: number } {
  const tiles = features.map((f) => {
    const norm = Math.sqrt(Array.from(f).reduce((s, x) => s + x * x, 0)) || 1;
    const dot = Array.from(f).reduce((s, x, i) => s + x * reference[i]!, 0);
    const sign = dot < 0 ? -1 : 1;
    return Float64Array.from(f, (x) => (sign * x) / norm);
  });
  return { tiles, limit: sharedLimit(tiles) };
}

/** One colour limit for a set of tiles: the 99.5th percentile of |value| over all of them. */
export function sharedLimit(tiles: ArrayLike<number>[]): number {
  const magnitudes = tiles.flatMap((t) => Array.from(t, Math.abs)).sort((a, b) => a - b);
  return magnitudes[Math.min(magnitudes.length - 1, Math.floor(0.995 * magnitudes.length))] || 1;
}

export type GridGalleryParams = {
  dataset: string;
  classIndex: number;
  className: string;
  /** The run (by seed) whose eigenvectors are shown. */
  seed: number;
  height: number;
  width: number;
  /** The regime every tile's sign is aligned to. */
  reference: string;
};

/**
 * The same class's top positive eigenvector in every cell of the grid: rows latent noise, columns weight
 * decay.
 */
export async function renderGridGallery(
  runs: AblationRun[],
  regimes: Regime[],
  lookup: Lookup,
  p: GridGalleryParams,
): Promise<FigureOutput> {
  const grid = regimes.filter((g) => g.kind === 'grid');
  const noises = [...new Set(grid.map((g) => g.latentNoise))].sort((a, b) => a - b);
  const decays = [...new Set(grid.map((g) => g.weightDecay))].sort((a, b) => a - b);
  const top = (regime: string) => {
    const run = runs.find((r) => r.dataset === p.dataset && r.regime === regime && r.seed === p.seed)!;
    return ablationOf(lookup(run.analysis)).topPositive[p.classIndex]!;
  };
  const cells = noises.flatMap((noise) =>
    decays.map((decay) => grid.find((g) => g.latentNoise === noise && g.weightDecay === decay)!),
  );
  const shown = cells.map((g) => top(g.id));
  const { tiles, limit } = alignedTiles(
    shown.map((s) => s.feature),
    top(p.reference).feature,
  );
  const rows: GalleryRow[] = noises.map((noise, r) => ({
    label: `σ = ${noise}`,
    tiles: decays.map((_, c) => ({
      values: tiles[r * decays.length + c]!,
      label: `λ = ${formatValue(shown[r * decays.length + c]!.eigenvalue)}`,
    })),
  }));
  const title =
    `${datasetTitle(p.dataset)}, class ${p.className}: top positive ` +
    `eigenvector for each latent noise σ (rows) and weight decay (columns)`;
  const { svg } = await gallerySvg(rows, {
    title,
    height: p.height,
    width: p.width,
    columnHeaders: decays.map((d) => `decay ${d}`),
    zoom: 4,
    limit,
    labelWidth: 90,
  });
  const pixels = p.height * p.width;
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt:
      `A grid of eigenvector images of class ${p.className} (${datasetTitle(p.dataset)}): ` +
      `rows are latent noise levels ${noises.join(', ')}, columns weight decay ` +
      `${decays.join(', ')}; all on one colour scale with signs aligned.`,
    data: {
      dataset: p.dataset,
      class: p.className,
      seed: p.seed,
      colourLimit: round7(limit),
      cells: cells.map((g, i) => ({
        latentNoise: g.latentNoise,
        weightDecay: g.weightDecay,
        eigenvalue: round7(shown[i]!.eigenvalue),
        feature: Array.from(tiles[i]!, round7),
      })),
    },
    table: {
      columns: [
        'latent_noise',
        'weight_decay',
        'eigenvalue',
        ...Array.from({ length: pixels }, (_, i) => `px${i}`),
      ],
      rows: cells.map((g, i) => [
        g.latentNoise,
        g.weightDecay,
        round7(shown[i]!.eigenvalue),
        ...Array.from(tiles[i]!, round7),
      ]),
    },
  };
}

export type ComparatorGalleryParams = {
  dataset: string;
  classNames: string[];
  seed: number;
  height: number;
  width: number;
  /** Regimes shown, in row order (the grid's middle cell first). */
  shown: string[];
};

/** Each class's top positive eigenvector under the middle cell's regime and under each comparator. */
export async function renderComparatorGallery(
  runs: AblationRun[],
  regimes: Regime[],
  lookup: Lookup,
  p: ComparatorGalleryParams,
): Promise<FigureOutput> {
  const chosen = p.shown.map((id) => regimes.find((g) => g.id === id)!);
  const tops = chosen.map(
    (g) =>
      ablationOf(
        lookup(runs.find((r) => r.dataset === p.dataset && r.regime === g.id && r.seed === p.seed)!.analysis),
      ).topPositive,
  );
  const classes = p.classNames.length;
  // Align each class's tiles to the middle cell's (first row); one colour limit for the whole figure.
  const aligned = Array.from(
    { length: classes },
    (_, a) =>
      alignedTiles(
        tops.map((t) => t[a]!.feature),
        tops[0]![a]!.feature,
      ).tiles,
  );
  const limit = sharedLimit(aligned.flat());
  const rows: GalleryRow[] = chosen.map((g, r) => ({
    label: g.label,
    tiles: p.classNames.map((_, a) => ({
      values: aligned[a]![r]!,
      label: `λ = ${formatValue(tops[r]![a]!.eigenvalue)}`,
    })),
  }));
  const title = `${datasetTitle(p.dataset)}: top positive eigenvector of each class under each regime`;
  const { svg } = await gallerySvg(rows, {
    title,
    height: p.height,
    width: p.width,
    columnHeaders: p.classNames,
    zoom: 3,
    limit,
    labelWidth: 190,
  });
  const pixels = p.height * p.width;
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt:
      `Eigenvector images (${datasetTitle(p.dataset)}), one row per training ` +
      `regime (${chosen.map((g) => g.label).join('; ')}), one column per class, on one colour scale.`,
    data: {
      dataset: p.dataset,
      seed: p.seed,
      colourLimit: round7(limit),
      rows: chosen.map((g, r) => ({
        regime: g.label,
        eigenvectors: p.classNames.map((name, a) => ({
          class: name,
          eigenvalue: round7(tops[r]![a]!.eigenvalue),
          feature: Array.from(aligned[a]![r]!, round7),
        })),
      })),
    },
    table: {
      columns: ['regime', 'class', 'eigenvalue', ...Array.from({ length: pixels }, (_, i) => `px${i}`)],
      rows: chosen.flatMap((g, r) =>
        p.classNames.map((name, a) => [
          g.label,
          name,
          round7(tops[r]![a]!.eigenvalue),
          ...Array.from(aligned[a]![r]!, round7),
        ]),
      ),
    },
  };
}

/** The comparators and the grid's middle cell: every metric, mean [95% interval] over seeds. */
export async function renderComparatorTable(cells: Cell[], shown: string[]): Promise<FigureOutput> {
  const metrics = Object.keys(METRICS) as MetricName[];
  const chosen = ['mnist', 'fashion-mnist'].flatMap((dataset) =>
    shown
      .map((id) => cells.find((c) => c.dataset === dataset && c.regime.id === id))
      .filter((c): c is Cell => c !== undefined),
  );
  const columns = ['data set', 'regime', ...metrics.map((m) => METRICS[m].label)];
  const rows = chosen.map((c) => [
    datasetTitle(c.dataset),
    c.regime.label,
    ...metrics.map((m) => display(m, c.values[m])),
  ]);
  return {
    ...tableFigure({
      title: "Comparators beside the grid's middle cell: every metric, mean over seeds",
      columns,
      rows,
      widths: [110, 190, ...metrics.map(() => 90)],
      groupEvery: shown.length,
    }),
    alt:
      `A table with one row per data set and regime (the grid's middle cell ` +
      `and each comparator), giving the mean over seeds of ${columns.slice(2).join(', ')}.`,
    data: {
      rows: chosen.map((c) => ({
        dataset: c.dataset,
        regime: c.regime.id,
        label: c.regime.label,
        ...Object.fromEntries(
          metrics.map((m) => [m, { ...intervalFields(c.values[m]), censored: c.values[m].censored }]),
        ),
      })),
    },
    table: {
      columns: ['dataset', 'regime', ...metrics.flatMap((m) => [`${m}_mean`, `${m}_lo`, `${m}_hi`])],
      rows: chosen.map((c) => [
        c.dataset,
        c.regime.id,
        ...metrics.flatMap((m) => [
          intervalFields(c.values[m]).mean,
          intervalFields(c.values[m]).lo ?? '',
          intervalFields(c.values[m]).hi ?? '',
        ]),
      ]),
    },
  };
}

/**
 * Accuracy against each interpretability metric, one point per trained model ("none" is drawn as
 * the grid's (0, 0) cell); runs whose k never got within one point are left out of that panel.
 * Panels wrap three to a row (one data set per two rows), so the chart keeps its size on a page.
 * Weight decay, the study's main driver, takes an ordered colour ramp and latent noise an ordered
 * point size, so both grid axes can be read off every point; comparators are black, told apart by
 * shape.
 */
export async function renderAccuracyScatter(points: RunPoint[]): Promise<FigureOutput> {
  const metrics = (Object.keys(METRICS) as MetricName[]).filter(
    (m) => m !== 'accuracy' && !CELL_ONLY_METRICS.includes(m),
  );
  const distinct = distinctRuns(points);
  const groupOf = (r: Regime) => (r.kind === 'grid' ? `grid, decay ${r.weightDecay}` : r.label);
  const gridValues = (of: (r: Regime) => number) =>
    [...new Set(distinct.filter((p) => p.regime.kind === 'grid').map((p) => of(p.regime)))].sort(
      (a, b) => a - b,
    );
  const decays = gridValues((r) => r.weightDecay);
  const noises = gridValues((r) => r.latentNoise);
  const comparators = [
    ...new Set(distinct.filter((p) => p.regime.kind === 'comparator').map((p) => p.regime.label)),
  ];
  const domain = [...decays.map((d) => `grid, decay ${d}`), ...comparators];
  // plasma from dark purple to orange (its pale yellow end is cut: it vanishes on white)
  const ramp = decays.map((_, i) =>
    interpolatePlasma(decays.length === 1 ? 0 : (0.85 * i) / (decays.length - 1)),
  );
  const shapes = ['square', 'triangle-up', 'cross', 'diamond', 'triangle-down'];
  const datasets = IDX_SOURCES.map((d) => d.name).filter((d) => distinct.some((p) => p.dataset === d));
  const panels = datasets.flatMap((d) => metrics.map((m) => `${datasetTitle(d)}: ${METRICS[m].label}`));
  const rows = distinct.flatMap((p) =>
    metrics.flatMap((m) => {
      const value = m === 'crossSeedSimilarity' ? p.crossSeedSimilarity : p.scores[m as keyof RunScores];
      if (value === null || !Number.isFinite(value)) return [];
      const dataset = datasetTitle(p.dataset);
      return [
        {
          dataset,
          metric: METRICS[m].label,
          panel: `${dataset}: ${METRICS[m].label}`,
          value: round7(value),
          accuracy: round7(p.scores.accuracy),
          regime: p.regime.label,
          group: groupOf(p.regime),
          // comparators are drawn at the middle size: their σ is not a grid step
          noise: p.regime.kind === 'grid' ? `σ = ${p.regime.latentNoise}` : 'comparator',
          seed: p.seed,
        },
      ];
    }),
  );
  const legend = {
    title: 'weight decay, or comparator',
    orient: 'bottom' as const,
    columns: 5,
    labelLimit: 200,
    titleLimit: 0,
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Validation accuracy against each interpretability metric, one point per trained run',
    data: { values: rows },
    // the panel title on two lines (data set, then metric), so a long title does not widen its column
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: panels,
      header: { labelLimit: 600, labelFontSize: 12, labelExpr: "split(datum.label, ': ')" },
    },
    columns: 3,
    spec: {
      width: 190,
      height: 150,
      mark: { type: 'point', filled: true, opacity: 0.85 },
      encoding: {
        x: {
          field: 'value',
          type: 'quantitative',
          title: null,
          scale: { zero: false, padding: 8 },
          axis: { tickCount: 4 },
        },
        y: {
          field: 'accuracy',
          type: 'quantitative',
          title: 'accuracy',
          scale: { zero: false, padding: 8 },
          axis: { format: '.0%', tickCount: 4 },
        },
        color: {
          field: 'group',
          type: 'nominal',
          scale: { domain, range: [...ramp, ...comparators.map(() => '#000000')] },
          legend,
        },
        shape: {
          field: 'group',
          type: 'nominal',
          scale: {
            domain,
            range: [...decays.map(() => 'circle'), ...comparators.map((_, i) => shapes[i % shapes.length]!)],
          },
          legend,
        },
        size: {
          field: 'noise',
          type: 'ordinal',
          title: 'latent noise',
          scale: {
            domain: [...noises.map((s) => `σ = ${s}`), 'comparator'],
            range: [...noises.map((_, i) => 20 + (i * 80) / Math.max(1, noises.length - 1)), 45],
          },
          legend: { orient: 'bottom', columns: 6, symbolFillColor: '#555555', symbolStrokeColor: '#555555' },
        },
        tooltip: [
          { field: 'regime' },
          { field: 'seed' },
          { field: 'metric' },
          { field: 'value', format: '.4~g' },
          { field: 'accuracy', format: '.2%' },
        ],
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Scatter plots of validation accuracy against ` +
      `${metrics.map((m) => METRICS[m].label).join(', ')}, one panel per data ` +
      `set and metric, one point per trained run; grid runs coloured from dark ` +
      `to light by weight decay and sized by latent noise, comparators in black by shape.`,
    data: { rows },
    table: {
      columns: ['dataset', 'metric', 'value', 'accuracy', 'regime', 'seed'],
      rows: rows.map((r) => [r.dataset, r.metric, r.value, r.accuracy, r.regime, r.seed]),
    },
  };
}

/** What every ablation figure is drawn from: the study's runs (by input name) and regimes. */
type Study = { runs: AblationRun[]; regimes: Regime[] };
type ByName = Record<string, unknown>;

/** "3 seeds": how many seeds the study's runs were trained from. */
const seedsText = (runs: AblationRun[]) => `${new Set(runs.map((r) => r.seed)).size} seeds`;

/** Upper-cases a label's first letter, except a leading variable name ("k" in a label). */
export function capitalize(text: string): string {
  return /^k /.test(text) ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/** "(σ = 0.33, decay 0.1)": a grid cell's settings. */
function cellText(regimes: Regime[], id: string): string {
  const cell = regimes.find((r) => r.id === id)!;
  return `(σ = ${cell.latentNoise}, decay ${cell.weightDecay})`;
}

/** How a heatmap's intervals are made, as its caption says it. */
const intervalMethod = (metric: MetricName) =>
  metric.startsWith('crossSeed') ? 'a leave-one-seed-out jackknife over seed pairs' : 't over seeds';

/** What a heatmap's metric is, and which way is better, as its caption says it. */
function heatmapReading(metric: MetricName): string {
  if (metric === 'crossSeedNull')
    return (
      'a null: the similarity expected of unrelated features, the floor the ' + 'similarity is judged against'
    );
  return METRICS[metric].better === 'higher' ? 'higher is better' : 'lower means simpler features';
}

export const ablationHeatmap = defineFigure<ByName, Study & { metric: MetricName; maxK: number }>({
  name: 'ablation-heatmap',
  module: import.meta.url,
  title: (p) => `${capitalize(METRICS[p.metric].label)} over the grid`,
  caption: (p) =>
    [
      `${capitalize(METRICS[p.metric].label)} (${heatmapReading(p.metric)}) for every combination of`,
      'latent noise σ (rows) and decoupled weight decay (columns); each cell is the mean over',
      `${seedsText(p.runs)} with its 95% interval beneath`,
      `(${intervalMethod(p.metric)})${p.metric === 'accuracy' ? '' : ' and its validation accuracy'}.`,
      `${SCALE_BETTER_END[0]!.toUpperCase()}${SCALE_BETTER_END.slice(1)} is better in every heatmap;`,
      'colour scales are per panel.',
    ].join(' '),
  render: (inputs, p) =>
    renderHeatmap(
      summarizeCells(
        studyPoints(p.runs, p.regimes, (name) => inputs[name]),
        p.maxK,
      ),
      p.metric,
      p.maxK,
    ),
});

export const ablationGridGallery = defineFigure<ByName, Study & GridGalleryParams>({
  name: 'ablation-grid-gallery',
  module: import.meta.url,
  title: (p) => `${datasetTitle(p.dataset)}: one eigenvector across the grid`,
  caption: (p) =>
    [
      `The top positive eigenvector of class ${p.className} in the seed-${p.seed} run of every cell: latent`,
      'noise σ grows down the rows, weight decay across the columns. Features are unit-norm, their signs',
      `aligned to the middle cell's ${cellText(p.regimes, p.reference)}, and drawn on one colour scale.`,
    ].join(' '),
  render: (inputs, { runs, regimes, ...p }) => renderGridGallery(runs, regimes, (name) => inputs[name], p),
});

export const ablationComparatorGallery = defineFigure<ByName, Study & ComparatorGalleryParams>({
  name: 'ablation-comparator-gallery',
  module: import.meta.url,
  title: (p) => `${datasetTitle(p.dataset)}: other regularizers beside the middle cell`,
  caption: (p) =>
    [
      `The top positive eigenvector of every class (seed ${p.seed}) under the grid's middle cell`,
      `${cellText(p.regimes, p.shown[0]!)} and under each comparator, which ` +
        `replaces both: input noise, L1 on`,
      'the weights, dropout on the hidden layer, or no regularization. Signs ' +
        "are aligned to the middle cell's;",
      'one colour scale.',
    ].join(' '),
  render: (inputs, { runs, regimes, ...p }) =>
    renderComparatorGallery(runs, regimes, (name) => inputs[name], p),
});

export const ablationComparatorTable = defineFigure<ByName, Study & { shown: string[]; maxK: number }>({
  name: 'ablation-comparator-table',
  module: import.meta.url,
  title: () => 'Comparators: every metric',
  caption: (p) =>
    [
      `Every metric for the grid's middle cell and each comparator, mean over ${seedsText(p.runs)} (k within`,
      'one point: "≥ mean" when a seed never got there within K, counted as K).',
    ].join(' '),
  render: (inputs, p) =>
    renderComparatorTable(
      summarizeCells(
        studyPoints(p.runs, p.regimes, (name) => inputs[name]),
        p.maxK,
      ),
      p.shown,
    ),
});

export const ablationAccuracyScatter = defineFigure<ByName, Study>({
  name: 'ablation-accuracy-scatter',
  module: import.meta.url,
  title: () => 'Accuracy against interpretability',
  caption: () =>
    [
      'Validation accuracy against each interpretability metric, one point per trained model. Grid runs are',
      'coloured by weight decay (dark to light as it grows) and sized by latent noise (larger as it grows);',
      'comparators are black, told apart by shape ("none" is the grid\'s (0, 0) cell, drawn there).',
    ].join(' '),
  render: (inputs, p) => renderAccuracyScatter(studyPoints(p.runs, p.regimes, (name) => inputs[name]).points),
});
