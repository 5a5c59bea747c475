/** Loss and accuracy per epoch on the training and test sets, to show the fit and any over-fit. */
import type { TopLevelSpec } from 'vega-lite';
import type { Artifact } from '../cache/artifact.ts';
import { modelMeta } from '../train/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import type { FigureOutput } from './job.ts';
import { round7 } from './job.ts';

export async function renderTrainingCurves(inputs: Record<string, Artifact>): Promise<FigureOutput> {
  const { history } = modelMeta(inputs['model']!);
  const rows = history.flatMap((h) => [
    { epoch: h.epoch, split: 'train', metric: 'cross-entropy loss', value: round7(h.trainLoss) },
    { epoch: h.epoch, split: 'test', metric: 'cross-entropy loss', value: round7(h.testLoss) },
    { epoch: h.epoch, split: 'train', metric: 'accuracy', value: round7(h.trainAccuracy) },
    { epoch: h.epoch, split: 'test', metric: 'accuracy', value: round7(h.testAccuracy) },
  ]);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Training and test loss and accuracy per epoch',
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['cross-entropy loss', 'accuracy'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 280,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'split', type: 'nominal', scale: { domain: ['train', 'test'], range: ['#4c78a8', '#e45756'] }, legend: { orient: 'bottom' } },
        tooltip: [{ field: 'epoch' }, { field: 'split' }, { field: 'metric' }, { field: 'value', format: '.4f' }],
      },
    },
    config: CHART_CONFIG,
  };
  const last = history.at(-1)!;
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: `Line charts of cross-entropy loss and accuracy over ${history.length} epochs for the training and test sets; final test accuracy ${(last.testAccuracy * 100).toFixed(2)}%.`,
    data: { rows },
    table: { columns: ['epoch', 'split', 'metric', 'value'], rows: rows.map((r) => [r.epoch, r.split, r.metric, r.value]) },
  };
}
