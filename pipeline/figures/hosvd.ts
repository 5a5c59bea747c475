/**
 * The HOSVD view across classes (paper §3.3): how much of B each shared component carries (its
 * singular value), how each class weighs the components, and the top components' own top
 * eigenvectors as images.
 */
import type { TopLevelSpec } from 'vega-lite';
import { requireTensor, type Artifact } from '../cache/artifact.ts';
import { hosvdComponentEigen, layerOf, type HosvdMeta } from '../decompose/job.ts';
import type { ModelMeta } from '../train/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { pickBySign, renderFeatureGallery } from './eigen-gallery.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';

type SpectrumParams = { classNames: string[]; components: number };
type ComponentParams = {
  components: number;
  perSign: number;
  height: number;
  width: number;
  classNames: string[];
};

/** How many classes a component row names: those that weigh on it most. */
const CLASSES_NAMED = 2;

/**
 * The classes that use component t most, by |u_t[a]| (the HOSVD's class weights), with the sign
 * of their weight: a row's label says whose feature it is.
 */
export function topClasses(
  weights: ArrayLike<number>,
  rank: number,
  t: number,
  classNames: string[],
  count: number,
) {
  return classNames
    .map((name, a) => ({ name, weight: weights[a * rank + t]! }))
    .sort((x, y) => Math.abs(y.weight) - Math.abs(x.weight) || x.name.localeCompare(y.name))
    .slice(0, count);
}

export const hosvdSpectrum = defineFigure<{ hosvd: HosvdMeta }, SpectrumParams>({
  name: 'hosvd-spectrum',
  module: import.meta.url,
  title: () => 'Components shared across classes',
  caption: () =>
    'The higher-order SVD of the interaction tensor: the share of its squared norm carried by each ' +
    'component (left) and how much each class uses the top components (right).',
  render: (inputs, params) => renderHosvdSpectrum(inputs.hosvd, params),
});

export const hosvdComponents = defineFigure<{ model: ModelMeta; hosvd: HosvdMeta }, ComponentParams>({
  name: 'hosvd-components',
  module: import.meta.url,
  title: () => 'Top eigenvectors of the shared components',
  caption: (p) =>
    `Each of the top ${p.components} HOSVD components is an interaction matrix in its own right, shared by the` +
    ' classes that weigh on it; each row names the two that weigh most (the sign of their weight says' +
    ' whether the component raises or lowers their logit). Its top positive and negative eigenvectors show' +
    ' the input pattern those classes share: a stroke common to both digits is a feature the model reuses.',
  render: (inputs, params) => renderHosvdComponents(inputs.model, inputs.hosvd, params),
});

async function renderHosvdSpectrum(h: Artifact<HosvdMeta>, params: SpectrumParams): Promise<FigureOutput> {
  const sigma = requireTensor(h, 'sigma', 'HOSVD').data as Float64Array;
  const weights = requireTensor(h, 'weights', 'HOSVD').data as Float64Array;
  const rank = sigma.length;
  const total = sigma.reduce((s, x) => s + x * x, 0);
  const spectrum = Array.from(sigma, (s, t) => ({
    component: t + 1,
    sigma: round7(s),
    share: round7((s * s) / total),
  }));
  const shown = Math.min(params.components, rank);
  const loadings = params.classNames.flatMap((name, a) =>
    Array.from({ length: shown }, (_, t) => ({
      class: name,
      component: t + 1,
      weight: round7(weights[a * rank + t]!),
    })),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      "Singular values of the flattened interaction tensor, and each class's weight on the top components",
    hconcat: [
      {
        title: 'share of ‖B‖² per component',
        data: { values: spectrum },
        width: 260,
        height: 200,
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          x: { field: 'component', type: 'ordinal', title: 'component t' },
          y: { field: 'share', type: 'quantitative', title: 'σ_t² / Σ σ²', axis: { format: '%' } },
          tooltip: [
            { field: 'component' },
            { field: 'sigma', format: '.4g' },
            { field: 'share', format: '.1%' },
          ],
        },
      },
      {
        title: 'class weights u_t[a]',
        data: { values: loadings },
        width: 22 * shown,
        height: 200,
        mark: 'rect',
        encoding: {
          x: { field: 'component', type: 'ordinal', title: 'component t' },
          y: { field: 'class', type: 'ordinal', title: null, sort: params.classNames },
          color: {
            field: 'weight',
            type: 'quantitative',
            scale: { scheme: 'redblue', reverse: true, domainMid: 0 },
            legend: { title: 'u_t[a]' },
          },
          tooltip: [{ field: 'class' }, { field: 'component' }, { field: 'weight', format: '.3f' }],
        },
      },
    ],
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Left: bar chart of the share of the interaction tensor's squared norm ` +
      `carried by each of its ${rank} HOSVD components; the first carries ` +
      `${(spectrum[0]!.share * 100).toFixed(0)}%. Right: heat map of each ` +
      `class's weight on the top ${shown} components.`,
    data: { counting: 'component counts HOSVD components from 1 in order of σ', spectrum, loadings },
    table: {
      columns: ['component', 'sigma', 'share', ...params.classNames],
      rows: spectrum.map((s, t) => [
        s.component,
        s.sigma,
        s.share,
        ...params.classNames.map((_, a) => round7(weights[a * rank + t]!)),
      ]),
    },
  };
}

async function renderHosvdComponents(
  model: Artifact<ModelMeta>,
  h: Artifact<HosvdMeta>,
  params: ComponentParams,
): Promise<FigureOutput> {
  const layer = layerOf(model);
  const shown = Math.min(params.components, h.meta.components);
  const weights = requireTensor(h, 'weights', 'HOSVD').data as Float64Array;
  const rank = requireTensor(h, 'sigma', 'HOSVD').data.length;
  const rows = Array.from({ length: shown }, (_, t) => {
    const classes = topClasses(weights, rank, t, params.classNames, CLASSES_NAMED)
      .map((c) => `${c.weight >= 0 ? '+' : '−'}${c.name}`)
      .join(' ');
    return {
      label: `t = ${t + 1}: ${classes}`,
      picks: pickBySign(hosvdComponentEigen(h, t), layer, params.perSign),
    };
  });
  return renderFeatureGallery(rows, {
    title: 'Top eigenvectors of the top HOSVD components',
    perSign: params.perSign,
    height: params.height,
    width: params.width,
    rowKind: 'HOSVD component',
    alt:
      `A grid with one row per HOSVD component (1 to ${shown}); in each row ` +
      `the ${params.perSign} eigenvectors of the component with the largest ` +
      `positive eigenvalues, then the ${params.perSign} most negative, as ` +
      `images in red (positive) and blue (negative).`,
  });
}
