/**
 * Every task metric per epoch on the training split (a fixed sample) and the validation split
 * (loss and accuracy for classification), to show the fit and any over-fit. The test split is not
 * drawn: it is evaluated once, after the last epoch. Works for any task: the metrics to draw and
 * their labels are parameters.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TaskMetric } from '../tasks/kind.ts';
import type { ModelMeta } from '../train/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';

export type TrainingCurveParams = {
  metrics: TaskMetric[];
  /** The validation split in words, for the caption ("5,000 images carved from the training set"). */
  validation: string;
  /** The most training examples an evaluation's training sample holds. */
  monitored: number;
};

export async function renderTrainingCurves(
  model: ModelMeta,
  params: TrainingCurveParams,
): Promise<FigureOutput> {
  const { history } = model;
  const labels = params.metrics.map((m) => m.label);
  const rows = history.flatMap((h) =>
    params.metrics.flatMap((m) =>
      (['train', 'validation'] as const).map((split) => ({
        epoch: h.epoch,
        split,
        metric: m.label,
        value: round7(h[split][m.name]!),
      })),
    ),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Training and validation metrics per epoch',
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: labels } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 280,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: {
          field: 'split',
          type: 'nominal',
          scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#e45756'] },
          legend: { orient: 'bottom' },
        },
        tooltip: [
          { field: 'epoch' },
          { field: 'split' },
          { field: 'metric' },
          { field: 'value', format: '.4f' },
        ],
      },
    },
    config: CHART_CONFIG,
  };
  const last = history.at(-1)!;
  const finals = params.metrics
    .filter((m) => m.name !== 'loss')
    .map(
      (m) =>
        `final validation ${m.label} ` +
        (m.format === 'percent'
          ? `${(last.validation[m.name]! * 100).toFixed(2)}%`
          : last.validation[m.name]!.toFixed(4)),
    );
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Line charts of ${labels.join(' and ')} over ${history.length} epochs ` +
      `for the training and validation splits${finals.length > 0 ? `; ${finals.join(', ')}` : ''}.`,
    data: { rows },
    table: {
      columns: ['epoch', 'split', 'metric', 'value'],
      rows: rows.map((r) => [r.epoch, r.split, r.metric, r.value]),
    },
  };
}

export const trainingCurves = defineFigure<{ model: ModelMeta }, TrainingCurveParams>({
  name: 'training-curves',
  module: import.meta.url,
  title: () => 'Training curves',
  caption: (p) =>
    [
      "Cross-entropy loss and accuracy of the report's model after each epoch, on the validation split",
      `(${p.validation}) and on the training images (a fixed, seeded sample of at most`,
      `${p.monitored.toLocaleString('en-US')} of them). The test images are not drawn: they are evaluated`,
      'once, after the last epoch.',
    ].join(' '),
  render: (inputs, params) => renderTrainingCurves(inputs.model.meta, params),
});
