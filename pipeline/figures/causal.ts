/**
 * The perturbation check as a chart: for eigenvector, random and principal directions, how often
 * moving an image of the target class by ε flips its prediction (left), and how often images of
 * the other classes stay correct (right), with 95% t intervals over target classes (a class's
 * random draws and other classes averaged within it first).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { PerturbationMeta } from '../analysis/job.ts';
import type { SummaryRow } from '../analysis/perturb.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { colours } from './palette.ts';
import { clamped } from '../analysis/stats.ts';
import { defineFigure, intervalFields, type FigureOutput } from './job.ts';

const LABELS = {
  eigen: 'top eigenvectors of the class',
  'other-class': "another class's top eigenvectors",
  random: 'random directions',
  pca: 'principal directions of the data',
} as const;
const MEASURES = ['target class misclassified', 'other classes still correct'];

export async function renderPerturbation(summary: SummaryRow[]): Promise<FigureOutput> {
  const rows = summary.flatMap((r) => [
    {
      method: LABELS[r.method],
      epsilon: r.epsilon,
      measure: MEASURES[0]!,
      ...intervalFields(clamped(r.targetMisclassification, 0, 1)),
    },
    {
      method: LABELS[r.method],
      epsilon: r.epsilon,
      measure: MEASURES[1]!,
      ...intervalFields(clamped(r.offTargetAccuracy, 0, 1)),
    },
  ]);
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: 'direction',
    scale: { domain: Object.values(LABELS), range: colours('eigen', 'otherClass', 'random', 'pcaShared') },
    // Drawn as the lines are (full colour), not as the faint bands beneath them.
    legend: {
      orient: 'bottom' as const,
      columns: 2,
      labelLimit: 400,
      symbolType: 'stroke',
      symbolStrokeWidth: 2.5,
      symbolOpacity: 1,
    },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Effect of moving test images along eigenvector, random and principal directions',
    data: { values: rows },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: MEASURES } },
    spec: {
      width: 260,
      height: 200,
      layer: [
        {
          mark: { type: 'errorband', opacity: 0.25 },
          transform: [{ filter: 'datum.lo !== null' }],
          encoding: {
            x: { field: 'epsilon', type: 'quantitative', title: 'distance moved ε (‖x′ − x‖₂)' },
            y: {
              field: 'lo',
              type: 'quantitative',
              title: 'share of images',
              axis: { format: '%' },
              scale: { domain: [0, 1] },
            },
            y2: { field: 'hi' },
            color,
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epsilon', type: 'quantitative' },
            y: { field: 'mean', type: 'quantitative' },
            color,
            tooltip: [
              { field: 'method' },
              { field: 'epsilon' },
              { field: 'mean', format: '.1%' },
              { field: 'lo', format: '.1%' },
              { field: 'hi', format: '.1%' },
              { field: 'n', title: 'target classes' },
            ],
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  const at = (method: keyof typeof LABELS) => summary.filter((r) => r.method === method).at(-1)!;
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Two line charts against the distance moved. At the largest distance, ` +
      `${(at('eigen').targetMisclassification.mean * 100).toFixed(0)}% of ` +
      `target-class images are misclassified when moved along the class's top eigenvectors, against ` +
      `${(at('other-class').targetMisclassification.mean * 100).toFixed(0)}% along another class's, ` +
      `${(at('random').targetMisclassification.mean * 100).toFixed(0)}% along random directions and ` +
      `${(at('pca').targetMisclassification.mean * 100).toFixed(0)}% along ` +
      `principal directions; shaded bands are 95% t intervals over target classes.`,
    data: {
      intervals:
        '95% t intervals over n target classes; random draws and other classes ' +
        'are averaged within each target class first',
      rows,
    },
    table: {
      columns: ['method', 'epsilon', 'measure', 'mean', 'lo', 'hi', 'n', 'interval'],
      rows: rows.map((r) => [
        r.method,
        r.epsilon,
        r.measure,
        r.mean,
        r.lo ?? '',
        r.hi ?? '',
        r.n,
        r.interval,
      ]),
    },
  };
}

/** The check's settings, as its caption states them. */
type PerturbationCaption = { directions: number; randomDraws: number; perClass: number; classes: number };

export const perturbationChart = defineFigure<{ perturbation: PerturbationMeta }, PerturbationCaption>({
  name: 'perturbation-check',
  module: import.meta.url,
  title: () => 'Moving images along eigenvectors',
  caption: (p) =>
    [
      `Test images moved a distance ε towards removing their component in the span of ${p.directions}`,
      `directions (an exact orthogonal projection): the target class's top ${p.directions} positive`,
      "eigenvectors, another class's (every other class in turn: the control for class specificity),",
      `${p.directions} random directions (${p.randomDraws} draws per class), or the data's top`,
      `${p.directions} principal directions. Left: share of the target class's images (${p.perClass} per`,
      "class) no longer classified as the target; right: share of the other classes' images still",
      `classified correctly. Bands are 95% t intervals over the ${p.classes} target classes, each class's`,
      'draws or other classes averaged first.',
    ].join(' '),
  render: (inputs) => renderPerturbation(inputs.perturbation.meta.summary),
});
