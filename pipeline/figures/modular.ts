/**
 * Figures of the modular-addition report: the training curves of a full-batch run (when the model
 * generalises), its eigenvectors beside their Fourier spectra, and each frequency's share of each
 * residue's interaction matrix.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asFourier } from '../analysis/job.ts';
import { firstAbove99, sharesOverSeeds, type FourierCheck } from '../analysis/fourier-check.ts';
import { mean, type Interval } from '../analysis/stats.ts';
import type { Artifact } from '../cache/artifact.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { bestFrequency, fourierBasis, frequencyShares } from '../decompose/fourier.ts';
import { classEigen, type EigenMeta } from '../decompose/job.ts';
import type { ModelMeta } from '../train/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, intervalFields, round7, type FigureOutput } from './job.ts';
import { colourName, PALETTE, SIGNS } from './palette.ts';

export type GrokkingParams = {
  /** The held-out pairs the validation curve is on, in words. */
  validation: string;
  trainPairs: number;
};

const SPLITS = { train: 'training pairs', validation: 'held-out pairs (validation)' } as const;

/** Loss (log scale) and accuracy against the step (log scale): generalisation can come late. */
async function renderGrokking(model: ModelMeta, params: GrokkingParams): Promise<FigureOutput> {
  const rows = model.history.flatMap((h) =>
    (['train', 'validation'] as const).flatMap((split) => [
      { step: h.step, split: SPLITS[split], metric: 'cross-entropy loss', value: round7(h[split]['loss']!) },
      { step: h.step, split: SPLITS[split], metric: 'accuracy', value: round7(h[split]['accuracy']!) },
    ]),
  );
  const steps = [model.history[0]!.step, model.history.at(-1)!.step];
  const losses = rows.filter((r) => r.metric === 'cross-entropy loss').map((r) => r.value);
  const decades = Array.from(
    { length: Math.ceil(Math.log10(Math.max(...losses))) - Math.floor(Math.log10(Math.min(...losses))) + 1 },
    (_, i) => 10 ** (Math.floor(Math.log10(Math.min(...losses))) + i),
  );
  const panel = (metric: string, log: boolean) => ({
    transform: [{ filter: { field: 'metric', equal: metric } }],
    width: 300,
    height: 200,
    title: metric,
    mark: { type: 'line' as const, point: { size: 12 } },
    encoding: {
      x: {
        field: 'step',
        type: 'quantitative' as const,
        title: 'step (log scale)',
        scale: { type: 'log' as const, domain: steps, nice: false },
      },
      y: {
        field: 'value',
        type: 'quantitative' as const,
        title: null,
        ...(log ? { scale: { type: 'log' as const } } : { scale: { domain: [0, 1] } }),
        // a log axis gets one tick per decade (Vega's own collide: 0.02 over 0.03)
        axis: log ? { values: decades } : { format: '%' },
      },
      color: {
        field: 'split',
        type: 'nominal' as const,
        title: null,
        scale: { domain: Object.values(SPLITS), range: ['#4c78a8', '#e45756'] },
        legend: { orient: 'bottom' as const },
      },
      tooltip: [{ field: 'step' }, { field: 'split' }, { field: 'value', format: '.4g' }],
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Loss and accuracy on the training and held-out pairs against the training step',
    data: { values: rows },
    hconcat: [panel('cross-entropy loss', true), panel('accuracy', false)],
    config: CHART_CONFIG,
  };
  const first = (split: 'train' | 'validation') => firstAbove99(model.history, split);
  const reach = (split: 'train' | 'validation') => {
    const step = first(split);
    return step === null ? 'never reach 99% accuracy' : `first reach 99% accuracy at step ${step}`;
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Two line charts over ${model.history.length} evaluations, steps on a log scale: loss and accuracy ` +
      `on the ${params.trainPairs.toLocaleString('en-US')} training pairs and on ${params.validation}. The training pairs ${reach('train')}; the held-out pairs ` +
      `${reach('validation')}.`,
    data: { rows, firstAbove99: { train: first('train'), validation: first('validation') } },
    table: {
      columns: ['step', 'split', 'metric', 'value'],
      rows: rows.map((r) => [r.step, r.split, r.metric, r.value]),
    },
  };
}

export const grokkingCurves = defineFigure<{ model: ModelMeta }, GrokkingParams>({
  name: 'grokking-curves',
  module: import.meta.url,
  title: () => 'Training curves: when the model generalises',
  caption: (p) =>
    [
      'Cross-entropy loss and accuracy of the full-batch run against the optimiser step, both on log',
      `scales, on the ${p.trainPairs.toLocaleString('en-US')} training pairs and on ${p.validation}.`,
      'A gap between the step where the training pairs are learnt and the step where the held-out',
      'pairs follow is the delayed generalisation known as grokking. The test pairs are not drawn:',
      'they are evaluated once, after the last step.',
    ].join(' '),
  render: (inputs, params) => renderGrokking(inputs.model.meta, params),
});

export type FourierVectorsParams = {
  /** The residues whose eigenvectors are drawn. */
  residues: number[];
};

/**
 * For each chosen residue, its top positive and top negative eigenvector: entries over a's tokens
 * and b's tokens (left), and the share of the vector's norm in each frequency (right).
 */
async function renderFourierVectors(
  eigen: Artifact<EigenMeta>,
  check: FourierCheck,
  params: FourierVectorsParams,
): Promise<FigureOutput> {
  const P = check.modulus;
  const basis = fourierBasis(P);
  const chosen = params.residues.flatMap((c) => {
    if (!(Number.isInteger(c) && c >= 0 && c < P))
      throw new Error(`fourier vectors: residue ${c} is not one of 0 … ${P - 1}`);
    const eig = classEigen(eigen, c);
    const first = (positive: boolean) => {
      const i = Array.from(eig.values).findIndex((v) => (positive ? v > 0 : v < 0));
      return i < 0 ? [] : [{ c, i, value: eig.values[i]!, v: eigenvector(eig, i) }];
    };
    return [...first(true), ...first(false)];
  });
  const label = (x: { c: number; value: number; i: number }) =>
    `c = ${x.c}, rank ${x.i + 1}, λ = ${x.value.toPrecision(3)}`;
  const entries = chosen.flatMap((x) =>
    Array.from(x.v, (value, j) => ({
      vector: label(x),
      token: j % P,
      operand: j < P ? 'a' : 'b',
      value: round7(value),
    })),
  );
  const spectra = chosen.flatMap((x) =>
    Array.from(frequencyShares(basis, x.v), (share, f) => ({
      vector: label(x),
      frequency: f,
      share: round7(share),
    })),
  );
  const order = chosen.map(label);
  const row = {
    field: 'vector',
    type: 'nominal' as const,
    title: null,
    sort: order,
    header: {
      labelAngle: 0,
      labelOrient: 'top' as const,
      labelAnchor: 'start' as const,
      labelFontWeight: 'bold' as const,
    },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Top eigenvectors of a few residues over the tokens of a and b, and their Fourier spectra',
    hconcat: [
      {
        data: { values: entries },
        facet: { row },
        spec: {
          width: 320,
          height: 90,
          mark: { type: 'line', strokeWidth: 1.2 },
          encoding: {
            x: {
              field: 'token',
              type: 'quantitative',
              title: 'token (residue)',
              scale: { domain: [0, P - 1] },
            },
            y: { field: 'value', type: 'quantitative', title: 'entry' },
            color: {
              field: 'operand',
              type: 'nominal',
              title: 'entries over the tokens of',
              scale: { domain: ['a', 'b'], range: ['#4c78a8', '#e45756'] },
              legend: { orient: 'bottom' },
            },
          },
        },
      },
      {
        data: { values: spectra },
        facet: { row },
        spec: {
          width: 240,
          height: 90,
          mark: { type: 'bar', color: SIGNS.positive.hex },
          encoding: {
            x: {
              field: 'frequency',
              type: 'quantitative',
              title: 'frequency f',
              scale: { domain: [0, Math.floor(P / 2)] },
            },
            y: { field: 'share', type: 'quantitative', title: 'share of ‖v‖²', scale: { domain: [0, 1] } },
            tooltip: [{ field: 'vector' }, { field: 'frequency' }, { field: 'share', format: '.3f' }],
          },
        },
      },
    ],
    config: CHART_CONFIG,
  };
  const best = chosen.map((x) => {
    const b = bestFrequency(frequencyShares(basis, x.v));
    return { vector: label(x), frequency: b.frequency, share: round7(b.share) };
  });
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `${chosen.length} eigenvectors, each drawn as its entries over the ${P} tokens of a and of b, beside ` +
      `a bar chart of its norm's share in each frequency: ` +
      best.map((b) => `${b.vector}: ${(b.share * 100).toFixed(0)}% in frequency ${b.frequency}`).join('; ') +
      '.',
    data: { best, entries, spectra },
    table: {
      columns: ['vector', 'frequency', 'share'],
      rows: spectra.map((r) => [r.vector, r.frequency, r.share]),
    },
  };
}

export const fourierVectors = defineFigure<{ eigen: EigenMeta; fourier: FourierCheck }, FourierVectorsParams>(
  {
    name: 'fourier-eigenvectors',
    module: import.meta.url,
    title: () => 'Eigenvectors and their Fourier spectra',
    caption: (p) =>
      [
        `The top positive and the top negative eigenvector of Q_c for residues ${p.residues.join(', ')}: left,`,
        'its entries over the tokens of a and of b (one vector over both); right, the share of its squared',
        'norm in each frequency f of Z_P (cos and sin of f, in both halves, together). A vector that is a',
        'Fourier component of the tokens is a pair of sinusoids, and one bar near 1.',
      ].join(' '),
    render: (inputs, params) => renderFourierVectors(inputs.eigen, inputs.fourier.meta, params),
  },
);

/** Each frequency's share of each residue's ‖Q_c‖²_F: which frequencies the model uses, and where. */
async function renderFrequencyHeatmap(check: FourierCheck): Promise<FigureOutput> {
  const cells = check.residues.flatMap((r) =>
    r.energy.map((share, f) => ({ residue: r.residue, frequency: f, share: round7(share) })),
  );
  const overall = check.energy.map((share, f) => ({
    frequency: f,
    share: round7(share),
    key: check.keyFrequencies.includes(f) ? 'key' : 'other',
  }));
  const F = check.frequencies.length;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: "Each frequency's share of each residue's interaction matrix",
    hconcat: [
      {
        data: { values: cells },
        width: 420,
        height: 300,
        mark: { type: 'rect' },
        encoding: {
          x: {
            field: 'residue',
            type: 'ordinal',
            title: 'residue c',
            axis: { values: ticks(check.modulus) },
          },
          y: {
            field: 'frequency',
            type: 'ordinal',
            title: 'frequency f',
            sort: 'descending',
            axis: { values: ticks(F) },
          },
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'share of ‖Q_c‖²',
            scale: { scheme: 'viridis', zero: true },
            legend: { orient: 'bottom', gradientLength: 200 },
          },
          tooltip: [{ field: 'residue' }, { field: 'frequency' }, { field: 'share', format: '.3f' }],
        },
      },
      {
        data: { values: overall },
        width: 120,
        height: 300,
        mark: { type: 'bar' },
        encoding: {
          y: {
            field: 'frequency',
            type: 'ordinal',
            title: null,
            sort: 'descending',
            axis: { values: ticks(F) },
          },
          x: { field: 'share', type: 'quantitative', title: 'share over all c' },
          color: {
            field: 'key',
            type: 'nominal',
            title: null,
            scale: { domain: ['key', 'other'], range: [PALETTE.eigen.hex, PALETTE.random.hex] },
            legend: { orient: 'bottom' },
          },
          tooltip: [{ field: 'frequency' }, { field: 'share', format: '.3f' }],
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
      `A heatmap of ${check.modulus} residues by ${F} frequencies, each cell the share of that residue's ` +
      `interaction matrix in that frequency, beside a bar chart of each frequency's share over all residues; ` +
      `the key frequencies are ${check.keyFrequencies.join(', ') || 'none'}, holding ` +
      `${(check.keyFrequencies.reduce((s, f) => s + check.energy[f]!, 0) * 100).toFixed(1)}% of the total.`,
    data: { keyFrequencies: check.keyFrequencies, overall, cells },
    table: {
      columns: ['residue', 'frequency', 'share'],
      rows: cells.map((c) => [c.residue, c.frequency, c.share]),
    },
  };
}

/** About ten evenly spaced tick values over 0 … n − 1. */
function ticks(n: number): number[] {
  const step = Math.max(1, Math.round(n / 10));
  return Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);
}

export const frequencyHeatmap = defineFigure<{ fourier: FourierCheck }, Record<string, never>>({
  name: 'frequency-heatmap',
  module: import.meta.url,
  title: () => 'Which frequencies each residue uses',
  caption: () =>
    [
      "Left: each frequency's share of each residue's interaction matrix, ‖Q_c‖² restricted to the entries",
      'whose row and column both lie in frequency f (of a or of b), over the whole (yellow: the largest',
      'share in the figure, which its colour scale says).',
      'Right: the same share over all residues together; a frequency is key (' +
        `${colourName('eigen')}) when it holds at least twice the share an even spread would give it.`,
    ].join(' '),
  render: (inputs) => renderFrequencyHeatmap(inputs.fourier.meta),
});

export type FourierShareParams = { top: number; chanceDraws: number };

/** The best-frequency share of the top eigenvectors against shuffled eigenvectors and random vectors. */
async function renderFourierShares(checks: FourierCheck[]): Promise<FigureOutput> {
  const GROUPS = {
    eigen: 'top eigenvectors',
    shuffled: 'eigenvectors, tokens shuffled',
    chance: 'random unit vectors',
  } as const;
  const points = checks.flatMap((check, seed) =>
    check.residues.flatMap((r) => [
      { group: GROUPS.eigen, seed, residue: r.residue, share: round7(mean(r.vectors.map((v) => v.share))) },
      {
        group: GROUPS.shuffled,
        seed,
        residue: r.residue,
        share: round7(mean(r.vectors.map((v) => v.shuffledShare))),
      },
    ]),
  );
  const summary = (group: string, iv: Interval) => ({ group, ...intervalFields(iv) });
  const { eigen, shuffled } = sharesOverSeeds(checks);
  const rows = [
    summary(GROUPS.eigen, eigen),
    summary(GROUPS.shuffled, shuffled),
    summary(GROUPS.chance, checks[0]!.chance),
  ];

  const order = Object.values(GROUPS);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Share of the norm in the best frequency: eigenvectors against two nulls',
    width: 420,
    height: 160,
    layer: [
      {
        data: { values: points },
        mark: { type: 'tick', opacity: 0.35, color: PALETTE.random.hex },
        encoding: {
          y: { field: 'group', type: 'nominal', title: null, sort: order },
          x: {
            field: 'share',
            type: 'quantitative',
            title: 'share of ‖v‖² in its best frequency',
            scale: { domain: [0, 1] },
          },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'rule', strokeWidth: 2.5, color: PALETTE.full.hex },
        encoding: {
          y: { field: 'group', type: 'nominal', sort: order },
          x: { field: 'lo', type: 'quantitative' },
          x2: { field: 'hi' },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 70, color: PALETTE.full.hex },
        encoding: {
          y: { field: 'group', type: 'nominal', sort: order },
          x: { field: 'mean', type: 'quantitative' },
          tooltip: [
            { field: 'group' },
            { field: 'mean', format: '.3f' },
            { field: 'lo', format: '.3f' },
            { field: 'hi', format: '.3f' },
          ],
        },
      },
    ],
    config: CHART_CONFIG,
  };
  const say = (r: (typeof rows)[number]) => `${r.group} ${(r.mean * 100).toFixed(1)}%`;
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: `Share of the norm in the best frequency, means with 95% intervals: ${rows.map(say).join('; ')}.`,
    data: { rows, points },
    table: {
      columns: ['group', 'mean', 'lo', 'hi', 'n', 'method'],
      rows: rows.map((r) => [r.group, r.mean, r.lo ?? '', r.hi ?? '', r.n, r.interval]),
    },
  };
}

export const fourierShares = defineFigure<Record<string, FourierCheck>, FourierShareParams>({
  name: 'fourier-shares',
  module: import.meta.url,
  title: () => 'Fourier share: eigenvectors against chance',
  caption: (p) =>
    [
      `The share of each eigenvector's squared norm in its best frequency, averaged over the top ${p.top}`,
      'eigenvectors of each residue (one tick per residue and seed), beside the same eigenvectors with the',
      'tokens of a and of b shuffled (each by one fixed permutation), and beside random unit vectors',
      `(${p.chanceDraws} draws). Black: means with 95% intervals (eigenvectors and shuffled: residues nested`,
      "in seeds, a t interval over the seeds' means; random vectors: a t interval over draws).",
    ].join(' '),
  // inputs named by seed, in seed order
  render: (inputs) =>
    renderFourierShares(
      Object.keys(inputs)
        .sort()
        .map((k) => asFourier(inputs[k]).meta),
    ),
});
