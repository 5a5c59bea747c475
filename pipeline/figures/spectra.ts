/**
 * Eigenvalue spectra: the largest eigenvalues (by |λ|) of every class's interaction matrix,
 * signed, against their rank. A spectrum that falls off fast means a few eigenvectors carry the
 * class (paper §4: low-rank structure).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Artifact } from '../cache/artifact.ts';
import { classEigen, type EigenMeta } from '../decompose/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';

export type SpectraParams = {
  /** How many eigenvalues (by |λ|) to plot per class. */
  top: number;
  classNames: string[];
  /** What a class is called in the title: "digit" (MNIST) or "class". */
  classWord: string;
};

export async function renderSpectra(
  eigen: Artifact<EigenMeta>,
  params: SpectraParams,
): Promise<FigureOutput> {
  const rows = params.classNames.flatMap((name, a) => {
    const { values } = classEigen(eigen, a);
    return Array.from(values.subarray(0, params.top), (value, i) => ({
      class: name,
      rank: i + 1,
      eigenvalue: round7(value),
      sign: value >= 0 ? 'positive' : 'negative',
    }));
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `Top ${params.top} eigenvalues by magnitude of each class's interaction matrix`,
    data: { values: rows },
    facet: { field: 'class', type: 'ordinal', title: 'class', sort: params.classNames },
    columns: 5,
    spec: {
      width: 150,
      height: 110,
      mark: { type: 'bar' },
      encoding: {
        x: {
          field: 'rank',
          type: 'quantitative',
          title: 'rank by |λ|',
          scale: { domain: [0, params.top + 1] },
        },
        y: { field: 'eigenvalue', type: 'quantitative', title: 'λ' },
        color: {
          field: 'sign',
          type: 'nominal',
          scale: { domain: ['positive', 'negative'], range: ['#b2182b', '#2166ac'] },
          legend: { title: 'sign of λ', orient: 'bottom' },
        },
        tooltip: [{ field: 'class' }, { field: 'rank' }, { field: 'eigenvalue', format: '.4g' }],
      },
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Bar charts, one per class, of the ${params.top} largest-magnitude ` +
      `eigenvalues of the class's interaction matrix against their rank; ` +
      `positive eigenvalues in red, negative in blue.`,
    data: {
      counting: 'rank counts eigenvalues from 1 in order of |λ| (rank 1 is the largest)',
      top: params.top,
      rows,
    },
    table: {
      columns: ['class', 'rank', 'eigenvalue', 'sign'],
      rows: rows.map((r) => [r.class, r.rank, r.eigenvalue, r.sign]),
    },
  };
}

export const eigenvalueSpectra = defineFigure<{ eigen: EigenMeta }, SpectraParams>({
  name: 'eigenvalue-spectra',
  module: import.meta.url,
  title: (p) => `Eigenvalue spectra per ${p.classWord}`,
  caption: (p) =>
    `The ${p.top} eigenvalues of largest magnitude of each class's interaction matrix, in order of |λ|. ` +
    'How concentrated each spectrum is, the effective rank, is given in the text.',
  render: (inputs, params) => renderSpectra(inputs.eigen, params),
});
