/**
 * How much of each output direction's MLP activation the top-k eigenvectors explain, against k
 * random and k principal directions (analysis/language-curves.ts): mean over the chosen tokens
 * with 95% intervals (t over tokens; random draws averaged within each token first).
 */
import type { TopLevelSpec } from 'vega-lite';
import { asJson } from '../cache/artifact.ts';
import type { Inputs } from '../cache/job.ts';
import { asCurves, type CurvesMeta, type DirectionCurves } from '../analysis/language-curves.ts';
import type { CurvePoint } from '../analysis/explained-curves.ts';
import { clamped, nestedInterval, tInterval, type Interval } from '../analysis/stats.ts';
import { colours } from './palette.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { logTicks } from './baselines.ts';
import { defineFigure, intervalFields, round7, type FigureOutput } from './job.ts';
import { formatValue } from './svg.ts';
import { asTruncation, type TruncationMeta } from '../analysis/language-truncation.ts';

export const CURVE_METHODS = {
  eigen: 'top-k eigenvectors of Q_u',
  random: 'k random directions',
  pca: 'top-k principal directions of the MLP inputs',
} as const;
export type CurveMethod = keyof typeof CURVE_METHODS;
export const CURVE_MEASURES = {
  correlation: 'correlation, all positions',
  correlationTop: 'correlation, top 10% of positions',
  rSquared: 'R², all positions',
} as const;
export type CurveMeasure = keyof typeof CURVE_MEASURES;

/** A method's value at k (index k − 1) over the directions: t over tokens; random draws nested in tokens. */
export function curveInterval(
  directions: DirectionCurves[],
  method: CurveMethod,
  measure: CurveMeasure,
  i: number,
): Interval {
  const at = (c: CurvePoint[]) => c[i]![measure];
  return method === 'random'
    ? nestedInterval(directions.map((d) => d.random.map(at)))
    : tInterval(directions.map((d) => at(d[method])));
}

export function curveRows(meta: CurvesMeta) {
  return (Object.keys(CURVE_MEASURES) as CurveMeasure[]).flatMap((measure) =>
    Array.from({ length: meta.K }, (_, i) =>
      // a correlation lies in [−1, 1], an R² at most 1: a t interval can pass both, and is cut there
      (Object.keys(CURVE_METHODS) as CurveMethod[]).map((method) => ({
        measure: CURVE_MEASURES[measure],
        method: CURVE_METHODS[method],
        k: i + 1,
        ...intervalFields(clamped(curveInterval(meta.directions, method, measure, i), -1, 1)),
      })),
    ).flat(),
  );
}

async function renderCurves(inputs: Inputs<{ curves: CurvesMeta }>): Promise<FigureOutput> {
  const meta = asCurves(inputs.curves).meta;
  const rows = curveRows(meta);
  const methods = Object.values(CURVE_METHODS);
  const legend = {
    orient: 'bottom' as const,
    columns: 1,
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
    scale: { domain: methods, range: colours('eigen', 'random', 'pcaShared') },
    legend,
  };
  const x = {
    field: 'k',
    type: 'quantitative' as const,
    title: 'k (log scale)',
    scale: { type: 'log' as const, domain: [1, meta.K], nice: false },
    axis: { values: logTicks(meta.K) },
  };
  const panel = (measure: string) => ({
    title: { text: measure, fontSize: 12, fontWeight: 'normal' as const },
    width: 200,
    height: 170,
    transform: [{ filter: { field: 'measure', equal: measure } }],
    layer: [
      // R² without refit falls far below 0 for a poor basis: the axis stops at −1, and lines below it are cut
      // at the frame
      {
        mark: { type: 'errorband' as const, opacity: 0.2, clip: true },
        transform: [{ filter: 'datum.lo !== null' }],
        encoding: {
          x,
          y: {
            field: 'lo',
            type: 'quantitative' as const,
            title: null,
            scale: {
              domain: [measure.startsWith('R²') ? -1 : lowest(rows.filter((r) => r.measure === measure)), 1],
            },
          },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        mark: { type: 'line' as const, strokeWidth: 2, clip: true },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative' as const },
          color,
          tooltip: [
            { field: 'method' },
            { field: 'k' },
            { field: 'mean', format: '.3f' },
            { field: 'lo', format: '.3f' },
            { field: 'hi', format: '.3f' },
            { field: 'n', title: 'tokens' },
          ],
        },
      },
    ],
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'How well the top-k eigenvectors, k random directions and k principal ' +
      "directions reproduce each output direction's MLP activation, against k",
    data: { values: rows },
    hconcat: Object.values(CURVE_MEASURES).map(panel),
    config: CHART_CONFIG,
  } as TopLevelSpec;
  const n = meta.directions.length;
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Three line charts against k from 1 to ${meta.K}: the correlation over ` +
      `${meta.positions} held-out positions, the correlation over the ` +
      `${meta.topPositions} positions with the largest activation, and R², ` +
      `between each output direction's MLP activation and its reconstruction ` +
      `from the top-k eigenvectors, k random directions and the top-k ` +
      `principal directions of the MLP inputs, means over ${n} output directions with 95% intervals.`,
    data: asJson({
      intervals:
        `95% t intervals over n = ${n} output directions; random directions: ` +
        `over the directions' means of their ${meta.settings.draws} draws (nested); cut at [−1, 1]`,
      positions: meta.positions,
      topPositions: meta.topPositions,
      trainPositions: meta.trainPositions,
      rows,
      directions: meta.directions.map((d) => ({
        slug: d.slug,
        title: d.title,
        eigen: d.eigen.map(roundPoint),
        pca: d.pca.map(roundPoint),
        random: d.random.map((c) => c.map(roundPoint)),
      })),
    }),
    table: {
      columns: ['measure', 'method', 'k', 'mean', 'lo', 'hi', 'n', 'interval'],
      rows: rows.map((r) => [r.measure, r.method, r.k, r.mean, r.lo ?? '', r.hi ?? '', r.n, r.interval]),
    },
  };
}

/** A correlation axis starts at 0, or lower (in steps of 0.1) when a band reaches below it. */
function lowest(rows: { lo: number | null; mean: number }[]): number {
  return Math.min(0, Math.floor(10 * Math.min(...rows.map((r) => r.lo ?? r.mean))) / 10);
}

function roundPoint(p: CurvePoint): CurvePoint {
  return {
    k: p.k,
    correlation: round7(p.correlation),
    rSquared: round7(p.rSquared),
    correlationTop: round7(p.correlationTop),
  };
}

/** The curves' settings, as the caption states them. */
type CurvesCaption = { maxK: number; draws: number; topShare: number };

export const languageExplainedCurves = defineFigure<{ curves: CurvesMeta }, CurvesCaption>({
  name: 'language-explained-curves',
  module: import.meta.url,
  title: () => 'How much the top-k eigenvectors explain',
  caption: (p) =>
    [
      'For each output direction u, the correlation (and R²) over held-out positions between its MLP',
      `activation uᵀ MLP(x) = xᵀ Q_u x and its reconstruction from k directions, k = 1 to ${p.maxK}:`,
      `the top-k eigenvectors of Q_u by |λ|, k random orthonormal directions (${p.draws} draws per`,
      'direction), and the top-k principal directions of the MLP inputs at training positions',
      '(uncentred), each reading Q_u restricted to its k directions.',
      'Middle: the same correlation over the positions where the activation is in its top',
      `${Math.round(100 * p.topShare)}%. Means over the output directions with 95% t intervals over`,
      'directions (random draws averaged within each direction first). R² is not refitted, so a poor basis',
      'falls far below 0; its axis stops at −1.',
    ].join(' '),
  render: (inputs) => renderCurves(inputs),
});

// ---- what truncation costs the model ----

const LOSS_METHODS = {
  eigen: 'each token its top-k eigenvectors',
  random: 'each token k random directions',
  pca: 'k principal directions shared by all tokens',
} as const;

async function renderTruncatedLoss(inputs: Inputs<{ truncation: TruncationMeta }>): Promise<FigureOutput> {
  const meta = asTruncation(inputs.truncation).meta;
  const rows = meta.losses.flatMap((l) =>
    (Object.keys(LOSS_METHODS) as (keyof typeof LOSS_METHODS)[]).map((m) => ({
      k: l.k,
      method: LOSS_METHODS[m],
      loss: round7(l[m]),
    })),
  );
  const references = [
    { reference: 'the model itself', loss: round7(meta.full) },
    {
      reference: meta.normalized ? 'no last MLP (s U h alone)' : 'no MLP (U x alone)',
      loss: round7(meta.noMlp),
    },
  ];
  const K = Math.max(...meta.losses.map((l) => l.k));
  const legend = {
    orient: 'bottom' as const,
    columns: 1,
    labelLimit: 0,
    symbolType: 'stroke',
    symbolStrokeWidth: 2.5,
    symbolOpacity: 1,
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Held-out loss when the MLP is replaced, for every output token at once, ' +
      'by a k-direction reading of it',
    width: 360,
    height: 220,
    layer: [
      {
        data: { values: references },
        mark: { type: 'rule' as const, strokeDash: [5, 3], color: '#000' },
        encoding: { y: { field: 'loss', type: 'quantitative' as const } },
      },
      {
        data: { values: references },
        mark: { type: 'text' as const, align: 'right' as const, dx: -4, dy: -7, fontSize: 11 },
        encoding: {
          x: { datum: K },
          y: { field: 'loss', type: 'quantitative' as const },
          text: { field: 'reference' },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'line' as const, point: true, strokeWidth: 2 },
        encoding: {
          x: {
            field: 'k',
            type: 'quantitative' as const,
            title: 'k (log scale)',
            scale: { type: 'log' as const, domain: [1, K], nice: false },
            axis: { values: meta.losses.map((l) => l.k) },
          },
          y: {
            field: 'loss',
            type: 'quantitative' as const,
            title: 'held-out cross-entropy per token',
            scale: { zero: false },
          },
          color: {
            field: 'method',
            type: 'nominal' as const,
            title: null,
            scale: { domain: Object.values(LOSS_METHODS), range: colours('eigen', 'random', 'pcaShared') },
            legend,
          },
          tooltip: [{ field: 'method' }, { field: 'k' }, { field: 'loss', format: '.4f' }],
        },
      },
    ],
    config: CHART_CONFIG,
  } as TopLevelSpec;
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `A line chart of held-out loss against k (${meta.losses.map((l) => l.k).join(', ')}) ` +
      `when the MLP is replaced, for all ${meta.vocab} output tokens at once, ` +
      `by each token's top-k eigenvectors, by k random directions per token, ` +
      `or by k principal directions shared by all tokens, beside the model's ` +
      `own loss (${formatValue(meta.full)}) and the loss without the MLP (${formatValue(meta.noMlp)}), ` +
      `over ${meta.positions} held-out positions.`,
    data: {
      positions: meta.positions,
      vocab: meta.vocab,
      full: round7(meta.full),
      noMlp: round7(meta.noMlp),
      losses: meta.losses.map((l) => ({
        k: l.k,
        eigen: round7(l.eigen),
        random: round7(l.random),
        pca: round7(l.pca),
      })),
    },
    table: {
      columns: ['k', 'method', 'loss'],
      rows: [
        ...rows.map((r) => [r.k, r.method, r.loss] as (string | number)[]),
        ...references.map((r) => ['', r.reference, r.loss]),
      ],
    },
  };
}

/**
 * The number of output tokens and of validation windows, as the caption states them; with
 * `normalized`, the read layer of how many and the training count a truncated token needs.
 */
type LossCaption = {
  vocabulary: number;
  windows: number;
  normalized?: { layer: number; layers: number; minCount: number };
};

export const languageTruncatedLoss = defineFigure<{ truncation: TruncationMeta }, LossCaption>({
  name: 'language-truncated-loss',
  module: import.meta.url,
  title: () => 'What truncation costs the model',
  caption: (p) =>
    (p.normalized
      ? [
          `Held-out loss when the last layer's MLP (layer ${p.normalized.layer}, counting from 0) is`,
          `replaced, for every output token the training split holds at least ${p.normalized.minCount}`,
          `time${p.normalized.minCount === 1 ? '' : 's'} at once (the rest of the`,
          `${p.vocabulary.toLocaleString('en-US')} keep their exact logit), by a k-direction reading: each token's logit is`,
          "s·(U[t]·h plus its top-k eigen terms), h the stream before the MLP and s the final norm's scale",
          "held at the model's own, or Q_t restricted to k random directions of its own, or to k principal",
          'directions of the MLP inputs shared by all tokens;',
          "dashed: the model's own loss and the loss without that MLP (s·U[t]·h), on the same",
        ]
      : [
          `Held-out loss when the MLP is replaced, for all ${p.vocabulary} output tokens at once, by a`,
          "k-direction reading: each token's logit is U[t]·x plus its top-k eigen terms (its own k eigenvectors",
          'of Q_t), or Q_t restricted to k random directions of its own, or to k principal directions of the',
          'MLP inputs shared by all tokens;',
          "dashed: the model's own loss and the loss without the MLP, on the same",
        ]
    )
      .concat(`${p.windows} validation windows. Eigen and random spend k directions per token, PCA k in all.`)
      .join(' '),
  render: (inputs) => renderTruncatedLoss(inputs),
});
