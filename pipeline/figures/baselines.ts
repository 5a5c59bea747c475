/**
 * Figures of the baselines report: truncation curves with intervals (eigenvectors, random
 * directions, class-conditional and shared principal directions), the eigenvectors needed at each
 * hidden size and training length, the summary table, and the stability of eigenvectors across
 * seeds and sizes beside a class-mismatched null.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Artifact } from '../cache/artifact.ts';
import { asTruncation } from '../analysis/job.ts';
import type { MethodCurve, TruncationResult } from '../analysis/truncation-study.ts';
import { clamped, nestedInterval, pairInterval, tInterval, type Interval } from '../analysis/stats.ts';
import { asEigen, classEigen, layerOf } from '../decompose/job.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import { eigenvectorsNeeded, matchedSimilarity, pairSimilarities } from '../decompose/metrics.ts';
import { Rng } from '../util/random.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { colourName, colours } from './palette.ts';
import { asModel } from '../train/job.ts';
import { defineFigure, intervalFields, round7, type FigureOutput } from './job.ts';
import { tableFigure } from './table.ts';
import { counted } from './words.ts';

/** A trained model of the study: where its artifacts are in the inputs. */
export type StudyRun = {
  dataset: string;
  size: number;
  /** Training length; the study trains every size at a short and a long length. */
  epochs: number;
  seed: number;
  /** Input names of its truncation, model and eigen artifacts. */
  truncation: string;
  model: string;
  eigen: string;
};

export const METHODS = {
  eigen: 'top-k eigenvectors of the class',
  random: 'k random directions',
  pcaClass: "the class's top-k principal directions",
  pcaShared: 'c·k principal directions shared by all classes',
  full: 'full model',
} as const;

type Method = Exclude<keyof typeof METHODS, 'full'>;
const BASIS_METHODS: Method[] = ['eigen', 'random', 'pcaClass', 'pcaShared'];
/** The methods' colours, in the order of METHODS (palette.ts). */
const COLORS = colours('eigen', 'random', 'pcaClass', 'pcaShared', 'full');

/** Log-axis ticks that never collide: 1, 2, 5, 10, 20, 50, … up to `max`. */
export function logTicks(max: number): number[] {
  const ticks: number[] = [];
  for (let decade = 1; decade <= max; decade *= 10)
    for (const m of [1, 2, 5]) if (m * decade <= max) ticks.push(m * decade);
  return ticks;
}

/** The data files' note on counting: k and r count directions from 1 (k = 1 is the top one). */
export const COUNTING =
  'k (directions per class) and r (eigenvectors per class) count from 1: k ' +
  '= 1 keeps the top eigenvector by |λ|.';

export type Measure = keyof MethodCurve | 'error';

export type CurveRow = { size: number; method: string; k: number } & ReturnType<typeof intervalFields>;

function results(
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
): { run: StudyRun; result: TruncationResult }[] {
  return runs.map((r) => ({ run: r, result: asTruncation(inputs[r.truncation], r.truncation).meta }));
}

function pick(curve: MethodCurve, measure: Measure, i: number): number {
  return measure === 'error' ? 1 - curve.accuracy[i]! : curve[measure][i]!;
}

/** A method's values over one size's seeds at index i: t over seeds; random draws nested in seeds. */
function methodInterval(
  mine: { result: TruncationResult }[],
  method: Method,
  measure: Measure,
  i: number,
): Interval {
  if (method === 'random')
    return nestedInterval(mine.map((x) => x.result.random.map((c) => pick(c, measure, i))));
  return tInterval(mine.map((x) => pick(x.result[method], measure, i)));
}

/**
 * Mean and 95% interval per (size, method, k), over seeds; random draws are averaged within each seed first.
 */
export function curveRows(runs: StudyRun[], inputs: Record<string, Artifact>, measure: Measure): CurveRow[] {
  const all = results(runs, inputs);
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  return sizes.flatMap((size) => {
    const mine = all.filter((x) => x.run.size === size);
    const rows: CurveRow[] = [];
    mine[0]!.result.ks.forEach((k, i) => {
      for (const method of BASIS_METHODS) {
        const iv = methodInterval(mine, method, measure, i);
        rows.push({
          size,
          method: METHODS[method],
          k,
          ...intervalFields(measure === 'r2' ? iv : clamped(iv, 0, 1)),
        });
      }
      if (measure === 'accuracy' || measure === 'error') {
        const iv = tInterval(
          mine.map((x) => (measure === 'error' ? 1 - x.result.fullAccuracy : x.result.fullAccuracy)),
        );
        rows.push({ size, method: METHODS.full, k, ...intervalFields(clamped(iv, 0, 1)) });
      }
    });
    return rows;
  });
}

const MEASURE_LABELS: Record<Measure, string> = {
  accuracy: 'test accuracy',
  error: 'test error (log scale)',
  r2: 'logit R²',
  relativeError: '‖Q − Q_k‖_F / ‖Q‖_F',
};

export async function renderTruncationChart(
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
  params: { dataset: string; measure: Measure; single?: { panel: string } },
): Promise<FigureOutput> {
  const rows = curveRows(runs, inputs, params.measure);
  // A log axis cannot show 0, nor an interval reaching below it: the error axis starts at half the
  // smallest mean error drawn, and bands are clamped there for drawing (the data keep them whole).
  const floor = Math.max(1e-4, Math.min(...rows.map((r) => r.mean).filter((x) => x > 0)) / 2);
  const drawn =
    params.measure === 'error'
      ? rows.map((r) => ({
          ...r,
          mean: Math.max(r.mean, floor),
          lo: r.lo === null ? null : Math.max(r.lo, floor),
          hi: r.hi === null ? null : Math.max(r.hi, floor),
        }))
      : rows;
  const label = MEASURE_LABELS[params.measure];
  const yScale =
    params.measure === 'error'
      ? { type: 'log' as const, domain: [floor, 1], clamp: true }
      : { domain: params.measure === 'r2' ? [-0.5, 1] : [0, 1], clamp: true };
  // a log error axis gets 1-2-5 ticks per decade (Vega's own collide: 0.03 over 0.04)
  const yAxis =
    params.measure === 'error'
      ? {
          axis: {
            values: [1e-4, 1e-3, 1e-2, 1e-1]
              .flatMap((decade) => [decade, 2 * decade, 5 * decade])
              .concat(1)
              .filter((t) => t >= floor),
          },
        }
      : {};
  // One panel per size, each with its own k axis (a d = 30 model has no k past 30) and ticks that
  // never collide; the legend shows each method's line as drawn (dashed for the full model).
  const methods = Object.values(METHODS);
  const legend = {
    orient: 'bottom' as const,
    columns: 2,
    labelLimit: 0,
    symbolType: 'stroke',
    symbolStrokeWidth: 2.5,
    symbolSize: 400,
    symbolOpacity: 1,
  };
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: null,
    scale: { domain: methods, range: COLORS },
    legend,
  };
  const strokeDash = {
    field: 'method',
    type: 'nominal' as const,
    title: null,
    scale: { domain: methods, range: methods.map((m) => (m === METHODS.full ? [5, 3] : [1, 0])) },
    legend,
  };
  const seeds = new Set(runs.map((r) => r.seed)).size;
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const panel = (size: number) => {
    const maxK = Math.max(...rows.filter((r) => r.size === size).map((r) => r.k));
    const x = {
      field: 'k',
      type: 'quantitative' as const,
      scale: { type: 'log' as const, domain: [1, maxK], nice: false },
      axis: { values: logTicks(maxK) },
      title: 'k (log scale)',
    };
    return {
      title: { text: params.single?.panel ?? `d = m = ${size}`, fontSize: 12, fontWeight: 'normal' as const },
      width: 170,
      height: 180,
      transform: [{ filter: `datum.size === ${size}` }],
      layer: [
        {
          mark: { type: 'errorband' as const, opacity: 0.18 },
          transform: [{ filter: 'datum.lo !== null' }],
          encoding: {
            x,
            y: { field: 'lo', type: 'quantitative' as const, title: label, scale: yScale, ...yAxis },
            y2: { field: 'hi' },
            color,
          },
        },
        {
          mark: { type: 'line' as const, strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative' as const },
            color,
            strokeDash,
            tooltip: [
              { field: 'size' },
              { field: 'method' },
              { field: 'k' },
              { field: 'mean', format: '.4f' },
              { field: 'lo', format: '.4f' },
              { field: 'hi', format: '.4f' },
              { field: 'n', title: 'seeds' },
            ],
          },
        },
      ],
    };
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      `${label} of the model kept to k directions per class, ${params.dataset}, ` +
      `one panel per hidden size`,
    data: { values: drawn },
    hconcat: sizes.map(panel),
    resolve: { scale: { x: 'independent' } },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `${label} of ${params.dataset} models against k, one panel per hidden ` +
      `size, for the top-k eigenvectors, k random directions, each class's k ` +
      `principal directions and c·k shared principal directions, with 95% t ` +
      `intervals over ${seeds} seeds.`,
    data: {
      counting: COUNTING,
      intervals:
        `95% t intervals over n seeds; random directions: over the seeds' means of their draws` +
        (params.measure === 'error'
          ? `; drawn clamped at ${round7(floor)} on the log axis, data unclamped`
          : ''),
      rows,
    },
    table: {
      columns: ['size', 'method', 'k', 'mean', 'lo', 'hi', 'n', 'interval'],
      rows: rows.map((r) => [r.size, r.method, r.k, r.mean, r.lo ?? '', r.hi ?? '', r.n, r.interval]),
    },
  };
}

/**
 * Per model, the directions each method needs (eigenvectorsNeeded on its curve; random: on the mean curve of
 * its draws).
 */
export function neededOf(result: TruncationResult, method: Method): number | null {
  const accuracy =
    method === 'random'
      ? result.ks.map((_, i) => result.random.reduce((s, c) => s + c.accuracy[i]!, 0) / result.random.length)
      : result[method].accuracy;
  return eigenvectorsNeeded(
    result.ks.map((k, i) => ({ k, accuracy: accuracy[i]! })),
    result.fullAccuracy,
  );
}

export interface NeededRow {
  dataset: string;
  size: number;
  epochs: number;
  method: string;
  /** Per seed, null where the method never got within one point by the largest k. */
  perSeed: (number | null)[];
  /** Over seeds (a censored seed counts as the largest k, so the mean is a lower bound). */
  interval: Interval;
  censored: boolean;
  maxK: number;
  fullAccuracy: Interval;
}

/** Directions needed per data set, size, training length and method, over seeds. */
export function neededRows(dataset: string, runs: StudyRun[], inputs: Record<string, Artifact>): NeededRow[] {
  const all = results(runs, inputs);
  const groups = [...new Set(runs.map((r) => `${r.size}|${r.epochs}`))]
    .map((g) => g.split('|').map(Number) as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return groups.flatMap(([size, epochs]) => {
    const mine = all.filter((x) => x.run.size === size && x.run.epochs === epochs);
    const maxK = mine[0]!.result.ks.length;
    const fullAccuracy = tInterval(mine.map((x) => x.result.fullAccuracy));
    return BASIS_METHODS.map((method) => {
      const perSeed = mine.map((x) => neededOf(x.result, method));
      return {
        dataset,
        size,
        epochs,
        method: METHODS[method],
        perSeed,
        interval: tInterval(perSeed.map((k) => k ?? maxK)),
        censored: perSeed.some((k) => k === null),
        maxK,
        fullAccuracy,
      };
    });
  });
}

const REACHED = 'every seed got within one point';
const CENSORED = 'a seed never did (the mean is a lower bound)';

export async function renderNeededChart(rows: NeededRow[]): Promise<FigureOutput> {
  // k is at least 1 and at most maxK: intervals are clamped there (a t interval of a count can reach past
  // both)
  const values = rows.map((r) => ({
    dataset: r.dataset,
    size: r.size,
    epochs: counted(r.epochs, 'epoch'),
    method: r.method,
    ...intervalFields(clamped(r.interval, 1, r.maxK)),
    censored: r.censored,
    reached: r.censored ? CENSORED : REACHED,
    maxK: r.maxK,
    perSeed: r.perSeed.map((k) => (k === null ? `>${r.maxK}` : String(k))).join(', '),
  }));
  const sizes = [...new Set(values.map((v) => v.size))];
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: null,
    scale: { domain: Object.values(METHODS).slice(0, 4), range: COLORS.slice(0, 4) },
    // one column: a two-column legend of these long labels is wider than the panels it explains
    legend: { orient: 'bottom' as const, columns: 1, labelLimit: 0 },
  };
  const lengths = [...new Set(values.map((v) => v.epochs))];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Directions per class needed to keep test accuracy within one point of ' +
      'the full model, against hidden size',
    data: { values },
    facet: {
      column: { field: 'dataset', type: 'nominal', title: null },
      row: { field: 'epochs', type: 'nominal', title: 'training length', sort: lengths },
    },
    spec: {
      width: 240,
      height: 170,
      layer: [
        {
          mark: { type: 'errorbar', ticks: true },
          transform: [{ filter: 'datum.lo !== null' }],
          encoding: {
            x: {
              field: 'size',
              type: 'quantitative',
              scale: {
                type: 'log',
                domain: [Math.min(...sizes), Math.max(...sizes)],
                nice: false,
                padding: 12,
              },
              axis: { values: sizes },
              title: 'hidden size d = m (log scale)',
            },
            y: {
              field: 'lo',
              type: 'quantitative',
              title: 'k needed (log scale)',
              scale: { type: 'log', domain: [1, Math.max(...values.map((v) => v.maxK))], nice: false },
              axis: { values: logTicks(Math.max(...values.map((v) => v.maxK))) },
            },
            y2: { field: 'hi' },
            color,
          },
        },
        {
          mark: { type: 'line', point: { size: 40, filled: true } },
          encoding: {
            x: { field: 'size', type: 'quantitative' },
            y: { field: 'mean', type: 'quantitative' },
            color,
            shape: {
              field: 'reached',
              type: 'nominal',
              title: null,
              scale: { domain: [REACHED, CENSORED], range: ['circle', 'triangle-up'] },
              // said in the caption: a second legend beside the first is wider than the panels
              legend: null,
            },
            tooltip: [
              { field: 'method' },
              { field: 'size' },
              { field: 'epochs' },
              { field: 'mean', format: '.1f' },
              { field: 'perSeed', title: 'per seed' },
              { field: 'n', title: 'seeds' },
            ],
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      'Line charts per data set and training length: for each method, how many ' +
      'directions per class keep test accuracy within one point of the full ' +
      'model, against hidden size, with 95% t intervals over seeds.',
    data: {
      counting: COUNTING,
      intervals:
        '95% t intervals over n seeds; a seed that never got within one point ' +
        'counts as the largest k (censored: the mean is then a lower bound)',
      rows: values,
    },
    table: {
      columns: ['dataset', 'size', 'epochs', 'method', 'mean', 'lo', 'hi', 'n', 'censored', 'per_seed'],
      rows: values.map((r) => [
        r.dataset,
        r.size,
        r.epochs,
        r.method,
        r.mean,
        r.lo ?? '',
        r.hi ?? '',
        r.n,
        r.censored ? 'yes' : 'no',
        r.perSeed,
      ]),
    },
  };
}

export interface SummaryRow {
  dataset: string;
  size: number;
  epochs: number;
  method: string;
  fullAccuracy: number;
  needed: NeededRow;
  at: Record<string, number>;
}

/** Per size (at one training length) and method: directions needed, and mean accuracy at the given ks. */
export function summaryRows(
  dataset: string,
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
  atK: number[],
): SummaryRow[] {
  const curves = curveRows(runs, inputs, 'accuracy');
  return neededRows(dataset, runs, inputs).map((needed) => {
    const curve = curves.filter((r) => r.size === needed.size && r.method === needed.method);
    return {
      dataset,
      size: needed.size,
      epochs: needed.epochs,
      method: needed.method,
      fullAccuracy: needed.fullAccuracy.mean,
      needed,
      at: Object.fromEntries(atK.map((k) => [String(k), curve.find((r) => r.k === k)?.mean ?? Number.NaN])),
    };
  });
}

function neededText(n: NeededRow): string {
  const seeds = n.perSeed.map((k) => (k === null ? `>${n.maxK}` : String(k))).join(', ');
  return `${n.censored ? '≥ ' : ''}${n.interval.mean.toFixed(1)} (${seeds})`;
}

export async function renderSummaryTable(rows: SummaryRow[], atK: number[]): Promise<FigureOutput> {
  const columns = [
    'data set',
    'size',
    'method',
    'full acc.',
    'k needed (per seed)',
    ...atK.map((k) => `acc. k=${k}`),
  ];
  const cells = rows.map((r) => [
    r.dataset,
    String(r.size),
    r.method,
    pct(r.fullAccuracy),
    neededText(r.needed),
    ...atK.map((k) => pct(r.at[String(k)]!)),
  ]);
  const widths = [110, 45, 300, 70, 150, ...atK.map(() => 70)];
  return {
    ...tableFigure({
      title:
        'Summary: directions per class needed to keep accuracy within one point, and accuracy at small k',
      columns,
      rows: cells,
      widths,
      groupEvery: BASIS_METHODS.length,
    }),
    alt:
      `A table with one row per data set, hidden size and method: the full ` +
      `model's accuracy, the directions per class each method needs to stay ` +
      `within one point of it (mean over seeds and each seed's value), and the ` +
      `accuracy at k = ${atK.join(', ')}.`,
    data: {
      counting: COUNTING,
      rows: rows.map((r) => ({
        dataset: r.dataset,
        size: r.size,
        epochs: r.epochs,
        method: r.method,
        fullAccuracy: round7(r.fullAccuracy),
        needed: {
          ...intervalFields(r.needed.interval),
          perSeed: r.needed.perSeed,
          censored: r.needed.censored,
          maxK: r.needed.maxK,
        },
        at: Object.fromEntries(
          Object.entries(r.at).map(([k, v]) => [k, Number.isFinite(v) ? round7(v) : null]),
        ),
      })),
    },
    table: {
      columns: [
        'dataset',
        'size',
        'epochs',
        'method',
        'full_accuracy',
        'needed_mean',
        'needed_per_seed',
        'needed_censored',
        ...atK.map((k) => `accuracy_at_k${k}`),
      ],
      rows: rows.map((r) => [
        r.dataset,
        r.size,
        r.epochs,
        r.method,
        round7(r.fullAccuracy),
        round7(r.needed.interval.mean),
        r.needed.perSeed.map((k) => k ?? `>${r.needed.maxK}`).join(' '),
        r.needed.censored ? 'yes' : 'no',
        ...atK.map((k) => (Number.isFinite(r.at[String(k)]) ? round7(r.at[String(k)]!) : '')),
      ]),
    },
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

/**
 * Cross-seed similarity of the top-r eigenvectors of one group of seeds (same data set and size): same class,
 * the null, their difference.
 */
export function stabilityAt(
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
  r: number,
  feats = runs.map((run) => features(run, inputs, Math.min(r, run.size))),
): { matched: Interval; mismatched: Interval; gain: Interval } {
  const table = new Map<string, { matched: number; mismatched: number }>();
  const pair = (i: number, j: number) => {
    const key = `${i},${j}`;
    if (!table.has(key)) table.set(key, pairSimilarities(feats[i]!, feats[j]!, Math.min(r, runs[i]!.size)));
    return table.get(key)!;
  };
  return {
    matched: pairInterval(runs.length, (i, j) => pair(i, j).matched),
    mismatched: pairInterval(runs.length, (i, j) => pair(i, j).mismatched),
    gain: pairInterval(runs.length, (i, j) => pair(i, j).matched - pair(i, j).mismatched),
  };
}

const STABILITY_SERIES = {
  matched: 'same class',
  mismatched: 'different classes (null)',
  gain: 'same minus different',
  chance: 'random vectors (chance)',
} as const;

/**
 * Similarity of the top-r eigenvectors across seeds, r = 1 … R, per data set and size: every pair
 * of distinct seeds, for the same class (averaged over classes) and for different classes (the
 * null, averaged over class pairs a ≠ b), and their difference; 95% jackknife intervals over seeds,
 * cut at the statistic's range (a symmetric jackknife interval of a |cos| near 0 or 1 runs past it).
 * "chance" is the same statistic for random Gaussian vectors.
 */
export async function renderStabilityByRank(
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
  params: { maxRank: number; seed: number },
): Promise<FigureOutput> {
  const rows: ({ dataset: string; size: string; series: string; rank: number } & ReturnType<
    typeof intervalFields
  >)[] = [];
  const groups = [...new Set(runs.map((r) => `${r.dataset}|${r.size}`))];
  const dims = new Map<string, number>();
  for (const group of groups) {
    const [dataset, size] = group.split('|') as [string, string];
    const mine = runs.filter((r) => r.dataset === dataset && String(r.size) === size);
    const R = Math.min(params.maxRank, Number(size));
    dims.set(dataset, layerOf(asModel(inputs[mine[0]!.model], mine[0]!.model)).input);
    const feats = mine.map((run) => features(run, inputs, R));
    for (let r = 1; r <= R; r++) {
      const series = stabilityAt(mine, inputs, r, feats);
      for (const [name, iv] of Object.entries(series) as [keyof typeof series, Interval][])
        rows.push({
          dataset,
          size,
          series: STABILITY_SERIES[name],
          rank: r,
          ...intervalFields(name === 'gain' ? clamped(iv, -1, 1) : clamped(iv, 0, 1)),
        });
    }
  }
  // Chance: matched |cos| of independent random Gaussian vectors in the same input dimension.
  const rng = new Rng(params.seed);
  for (const [dataset, dim] of dims) {
    for (let r = 1; r <= params.maxRank; r++) {
      const draws = Array.from({ length: 5 }, () => {
        const set = () =>
          Array.from({ length: r }, () => Float64Array.from({ length: dim }, () => rng.normal()));
        return matchedSimilarity(set(), set()).mean;
      });
      rows.push({
        dataset,
        size: 'any',
        series: STABILITY_SERIES.chance,
        rank: r,
        ...intervalFields(clamped(tInterval(draws), 0, 1)),
      });
    }
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Matched similarity of the top-r eigenvectors between models trained ' +
      'from different seeds, for the same class and for different classes',
    data: { values: rows.filter((r) => r.series !== STABILITY_SERIES.gain) },
    facet: {
      column: { field: 'dataset', type: 'nominal', title: null },
      row: {
        field: 'size',
        type: 'nominal',
        title: 'hidden size',
        sort: [...new Set(runs.map((r) => String(r.size)))]
          .sort((a, b) => Number(a) - Number(b))
          .concat('any'),
      },
    },
    spec: {
      width: 240,
      height: 120,
      layer: [
        {
          mark: { type: 'errorband', opacity: 0.25 },
          transform: [{ filter: 'datum.lo !== null' }],
          encoding: {
            x: { field: 'rank', type: 'quantitative', title: 'top r eigenvectors per class' },
            y: { field: 'lo', type: 'quantitative', title: 'matched |cos|', scale: { domain: [0, 1] } },
            y2: { field: 'hi' },
            color: {
              field: 'series',
              type: 'nominal',
              title: null,
              scale: {
                domain: [STABILITY_SERIES.matched, STABILITY_SERIES.mismatched, STABILITY_SERIES.chance],
                range: colours('eigen', 'otherClass', 'random'),
              },
              // drawn as the lines are, not as the faint bands the legend is merged from
              legend: {
                orient: 'bottom',
                labelLimit: 300,
                symbolType: 'stroke',
                symbolStrokeWidth: 2.5,
                symbolOpacity: 1,
              },
            },
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'rank', type: 'quantitative' },
            y: { field: 'mean', type: 'quantitative' },
            color: { field: 'series', type: 'nominal' },
            tooltip: [
              { field: 'size' },
              { field: 'series' },
              { field: 'rank' },
              { field: 'mean', format: '.3f' },
              { field: 'lo', format: '.3f' },
              { field: 'hi', format: '.3f' },
              { field: 'n', title: 'seeds' },
            ],
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      'Line charts per data set and hidden size of the matched similarity of ' +
      'the top-r eigenvectors between models trained from different seeds: for ' +
      'the same class, for different classes (the null), and for random vectors.',
    data: {
      counting: COUNTING,
      intervals:
        '95% leave-one-seed-out jackknife intervals over all pairs of distinct ' +
        'seeds (t with n − 1 degrees of freedom, n seeds); none with 2 seeds; ' +
        'chance: t interval over 5 independent draws. Every interval is cut at ' +
        'the range of its statistic: [0, 1] for a matched |cos|, [−1, 1] for the difference',
      rows,
    },
    table: {
      columns: ['dataset', 'size', 'series', 'rank', 'mean', 'lo', 'hi', 'n', 'interval'],
      rows: rows.map((r) => [
        r.dataset,
        r.size,
        r.series,
        r.rank,
        r.mean,
        r.lo ?? '',
        r.hi ?? '',
        r.n,
        r.interval,
      ]),
    },
  };
}

/**
 * size × size: matched similarity of the top-r eigenvectors between models of two sizes (distinct models
 * only), same class and different classes.
 */
export async function renderStabilityAcrossSizes(
  runs: StudyRun[],
  inputs: Record<string, Artifact>,
  params: { rank: number },
): Promise<FigureOutput> {
  const rows: {
    dataset: string;
    series: string;
    sizeA: number;
    sizeB: number;
    mean: number;
    pairs: number;
  }[] = [];
  for (const dataset of [...new Set(runs.map((r) => r.dataset))]) {
    const mine = runs.filter((r) => r.dataset === dataset);
    const feats = new Map(mine.map((run) => [run, features(run, inputs, Math.min(params.rank, run.size))]));
    const sizes = [...new Set(mine.map((r) => r.size))].sort((a, b) => a - b);
    for (const sa of sizes) {
      for (const sb of sizes) {
        const values: { matched: number; mismatched: number }[] = [];
        for (const a of mine.filter((r) => r.size === sa)) {
          for (const b of mine.filter((r) => r.size === sb)) {
            // different seeds only: never a run with itself, nor with its own initialisation stream
            if (a.seed === b.seed) continue;
            values.push(pairSimilarities(feats.get(a)!, feats.get(b)!, Math.min(params.rank, sa, sb)));
          }
        }
        for (const series of ['matched', 'mismatched'] as const)
          rows.push({
            dataset,
            series: STABILITY_SERIES[series],
            sizeA: sa,
            sizeB: sb,
            mean: round7(values.reduce((s, v) => s + v[series], 0) / values.length),
            pairs: values.length,
          });
      }
    }
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      `Matched similarity of the top ${params.rank} eigenvectors between ` +
      `models of two hidden sizes, same class and different classes`,
    data: { values: rows },
    facet: {
      column: { field: 'dataset', type: 'nominal', title: null },
      row: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: [STABILITY_SERIES.matched, STABILITY_SERIES.mismatched],
      },
    },
    spec: {
      width: 180,
      height: 180,
      layer: [
        {
          mark: 'rect',
          encoding: {
            x: { field: 'sizeA', type: 'ordinal', title: 'hidden size' },
            y: { field: 'sizeB', type: 'ordinal', title: 'hidden size', sort: 'descending' },
            color: {
              field: 'mean',
              type: 'quantitative',
              title: 'matched |cos|',
              scale: { domain: [0, 1], scheme: 'viridis' },
            },
            tooltip: [
              { field: 'series' },
              { field: 'sizeA' },
              { field: 'sizeB' },
              { field: 'mean', format: '.3f' },
              { field: 'pairs' },
            ],
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            x: { field: 'sizeA', type: 'ordinal' },
            y: { field: 'sizeB', type: 'ordinal', sort: 'descending' },
            text: { field: 'mean', format: '.2f' },
            color: { condition: { test: 'datum.mean > 0.6', value: 'black' }, value: 'white' },
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Heat maps per data set: for each pair of hidden sizes, the matched ` +
      `similarity of the top ${params.rank} eigenvectors between models of ` +
      `different seeds, for the same class (top row) and for different classes ` +
      `(bottom row, the null).`,
    data: { counting: COUNTING, rows },
    table: {
      columns: ['dataset', 'series', 'size_a', 'size_b', 'mean', 'pairs'],
      rows: rows.map((r) => [r.dataset, r.series, r.sizeA, r.sizeB, r.mean, r.pairs]),
    },
  };
}

type Runs = { runs: StudyRun[] };
/** Which test images the accuracies are on, in words ("on the 10,000 test images"). */
type OnTest = { testImages: string };

/** Each measure's words: in its figure's id, in its title, and leading its caption. */
export const MEASURE_WORDS: Record<
  Measure,
  { slug: string; title: string; lead: (onTest: string) => string }
> = {
  accuracy: { slug: 'accuracy', title: 'accuracy', lead: (onTest) => `Accuracy ${onTest}` },
  error: {
    slug: 'error',
    title: 'test error',
    lead: (onTest) => `Error (1 − accuracy, log scale, as in the paper) ${onTest}`,
  },
  r2: { slug: 'r2', title: 'logit R²', lead: () => "R² of the logits against the full model's" },
  relativeError: {
    slug: 'relative-error',
    title: 'relative error of Q',
    lead: () =>
      "Relative Frobenius error ‖Q − Q_k‖_F / ‖Q‖_F of each class's interaction matrix (mean over classes)",
  },
};

/** "3 seeds": how many seeds the runs were trained from. */
const seedsText = (runs: StudyRun[]) => `${new Set(runs.map((r) => r.seed)).size} seeds`;

type CurveParams = Runs &
  OnTest & {
    dataset: string;
    measure: Measure;
    randomDraws: number;
    /**
     * For a report of one model size: the single panel's title (instead of "d = m = size") and the
     * caption's sentence on the models (instead of their epochs and one panel per size).
     */
    single?: { panel: string; models: string };
  };

export const truncationCurves = defineFigure<Record<string, unknown>, CurveParams>({
  name: 'truncation-curves',
  module: import.meta.url,
  title: (p) => `${p.dataset}: ${MEASURE_WORDS[p.measure].title} against k`,
  caption: (p) =>
    [
      `${MEASURE_WORDS[p.measure].lead(p.testImages)} when each class keeps only k directions:`,
      `its top-k eigenvectors (${colourName('eigen')}), k random orthonormal directions`,
      `(${colourName('random')}; ${p.randomDraws} draws per model), its own class's top-k principal`,
      `directions (${colourName('pcaClass')}), or c·k principal directions shared by all classes, the same`,
      `total budget (${colourName('pcaShared')}; all d once c·k ≥ d)` +
        `${p.measure === 'accuracy' || p.measure === 'error' ? '; dashed: the full model' : ''}.`,
      `${p.single?.models ?? `Models trained ${counted(p.runs[0]!.epochs, 'epoch')}; one panel per hidden size`}; bands are 95% t intervals`,
      `over ${seedsText(p.runs)} (random directions: over the seeds' means of their draws).`,
    ].join(' '),
  render: (inputs, { runs, ...params }) => renderTruncationChart(runs, inputs, params),
});

type Datasets = { datasets: { title: string; runs: StudyRun[] }[] };

export const neededBySize = defineFigure<Record<string, unknown>, Datasets & OnTest & { maxK: number }>({
  name: 'eigenvectors-needed-by-size',
  module: import.meta.url,
  title: () => 'Eigenvectors needed, by size and training length',
  caption: (p) =>
    [
      `For each method, the directions per class it needs to keep accuracy (${p.testImages}) within one`,
      `point of the full model's (the smallest such k, over every k up to ${p.maxK}), against hidden size,`,
      `at each training length. Points are means over ${seedsText(p.datasets.flatMap((d) => d.runs))} with`,
      '95% t intervals; a triangle marks a mean where some seed never got there (counted as the largest k,',
      'so the mean is a lower bound).',
    ].join(' '),
  render: (inputs, { datasets }) =>
    renderNeededChart(datasets.flatMap((d) => neededRows(d.title, d.runs, inputs))),
});

export const baselinesSummary = defineFigure<Record<string, unknown>, Datasets & OnTest & { atK: number[] }>({
  name: 'baselines-summary-table',
  module: import.meta.url,
  title: () => 'Summary',
  caption: (p) =>
    [
      'For each data set, hidden size and method, at the main training length: the directions per class',
      `needed to keep accuracy (${p.testImages}) within one point of the full model's (mean over seeds,`,
      `then each seed's value), and the mean accuracy at k = ${p.atK.join(', ')}.`,
    ].join(' '),
  render: (inputs, { datasets, atK }) =>
    renderSummaryTable(
      datasets.flatMap((d) => summaryRows(d.title, d.runs, inputs, atK)),
      atK,
    ),
});

export const stabilityByRank = defineFigure<
  Record<string, unknown>,
  Runs & { maxRank: number; seed: number }
>({
  name: 'stability-by-rank',
  module: import.meta.url,
  title: () => 'Stability across seeds',
  caption: (p) =>
    [
      'How similar the top-r eigenvectors are between models trained from different seeds: the',
      'eigenvectors of two models are paired one to one to maximise |cos| (input space), for the same',
      'class (averaged over classes) and, as the null, for different classes (averaged over every pair of',
      'classes a ≠ b), over every pair of distinct seeds. Bands are 95% leave-one-seed-out jackknife',
      `intervals (n = ${seedsText(p.runs)}), cut at 0 and 1 where they run past the range of a |cos|.`,
      '"Chance" is the same statistic for independent random Gaussian vectors.',
    ].join(' '),
  render: (inputs, { runs, ...params }) => renderStabilityByRank(runs, inputs, params),
});

export const stabilityAcrossSizes = defineFigure<Record<string, unknown>, Runs & { rank: number }>({
  name: 'stability-across-sizes',
  module: import.meta.url,
  title: () => 'Stability across sizes',
  caption: (p) =>
    [
      `Matched similarity of the top ${p.rank} eigenvectors per class between models of two hidden sizes`,
      'trained from different seeds, for the same class (top) and for different classes (bottom, the',
      'null), averaged over classes or class pairs and over all such pairs of models (on the diagonal:',
      'different seeds of one size).',
    ].join(' '),
  render: (inputs, { runs, ...params }) => renderStabilityAcrossSizes(runs, inputs, params),
});
