/**
 * Figures of the adversarial-masks report: how often masks of k pixels make the model say the
 * target class (or stop saying it), against their nulls; and the masks themselves.
 */
import type { TopLevelSpec } from 'vega-lite';
import { masksOf, type MaskMeta } from '../analysis/job.ts';
import { predict, type MaskNull, type MaskRow, type Variant } from '../analysis/adversarial-masks.ts';
import { splitOf, type DataMeta } from '../data/job.ts';
import { layerOf } from '../decompose/job.ts';
import { asModel, type ModelMeta } from '../train/job.ts';
import { clamped, nestedInterval } from '../analysis/stats.ts';
import type { Artifact } from '../cache/artifact.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { gallerySvg, svgToPng } from './images.ts';
import { defineFigure, intervalFields, type FigureOutput } from './job.ts';
import { colourName, PALETTE } from './palette.ts';

/** The panels: a push with each variant, and the suppression. */
export const PANELS = [
  { direction: 'push', variant: 'encoder', title: 'push: encoder mask' },
  { direction: 'push', variant: 'feature', title: 'push: feature mask' },
  { direction: 'push', variant: 'rare-pixels', title: 'push: rarely lit pixels only' },
  { direction: 'suppress', variant: 'encoder', title: 'suppress: encoder mask' },
] as const;

export const NULL_WORDS: Record<MaskNull, string> = {
  mask: 'the mask',
  permuted: 'its pixels permuted',
  noise: 'noise of the same norm',
};

export type MaskSummary = {
  panel: string;
  direction: 'push' | 'suppress';
  variant: Variant;
  method: string;
  k: number;
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
  interval: string;
  /** Mean accuracy drop on the same images (before − after). */
  drop: number;
};

/**
 * Success per panel, null and k: the mean over targets per seed, then a t interval over seeds
 * (nestedInterval; the images are inside each target's share).
 */
export function summarise(seeds: MaskRow[][]): MaskSummary[] {
  const out: MaskSummary[] = [];
  const first = seeds[0]!;
  const ks = [...new Set(first.map((r) => r.k))].sort((a, b) => a - b);
  for (const panel of PANELS)
    for (const method of Object.keys(NULL_WORDS) as MaskNull[])
      for (const k of ks) {
        const pick = (rows: MaskRow[]) =>
          rows.filter(
            (r) =>
              r.direction === panel.direction &&
              r.variant === panel.variant &&
              r.method === method &&
              r.k === k,
          );
        const groups = seeds.map((rows) => pick(rows));
        if (groups.some((g) => g.length === 0)) continue;
        const iv = intervalFields(clamped(nestedInterval(groups.map((g) => g.map((r) => r.success))), 0, 1));
        const drops = groups.flat().map((r) => r.accuracyBefore - r.accuracyAfter);
        out.push({
          panel: panel.title,
          direction: panel.direction,
          variant: panel.variant,
          method: NULL_WORDS[method],
          k,
          ...iv,
          drop: drops.reduce((a, b) => a + b, 0) / drops.length,
        });
      }
  return out;
}

export type MaskCurveParams = { seeds: number; targets: number; images: string };

async function renderMaskCurves(metas: MaskMeta[]): Promise<FigureOutput> {
  const rows = summarise(metas.map((m) => m.rows));
  const ks = [...new Set(rows.map((r) => r.k))];
  const methods = Object.values(NULL_WORDS);
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: null,
    scale: { domain: methods, range: [PALETTE.eigen.hex, PALETTE.random.hex, PALETTE.noise.hex] },
    legend: { orient: 'bottom' as const },
  };
  const x = {
    field: 'k',
    type: 'quantitative' as const,
    title: 'pixels in the mask, k (log scale)',
    scale: { type: 'log' as const, domain: [Math.min(...ks), Math.max(...ks)], nice: false },
    axis: { values: ks },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Share of images the masks move, against permuted masks and noise of the same norm',
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', title: null, sort: PANELS.map((p) => p.title) },
    columns: 2,
    spec: {
      width: 240,
      height: 170,
      layer: [
        {
          mark: { type: 'errorband', opacity: 0.2 },
          transform: [{ filter: 'datum.lo !== null' }],
          encoding: {
            x,
            y: {
              field: 'lo',
              type: 'quantitative',
              title: 'share of images moved',
              scale: { domain: [0, 1] },
            },
            y2: { field: 'hi' },
            color,
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative' },
            color,
            tooltip: [
              { field: 'panel' },
              { field: 'method' },
              { field: 'k' },
              { field: 'mean', format: '.3f' },
              { field: 'lo', format: '.3f' },
              { field: 'hi', format: '.3f' },
              { field: 'drop', format: '.3f', title: 'accuracy drop' },
            ],
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  const at = (panel: string, method: string) =>
    rows.filter((r) => r.panel === panel && r.method === method).at(-1);
  const largest = PANELS.map((p) => {
    const [m, perm, noise] = methods.map((method) => at(p.title, method));
    return m && perm && noise
      ? `${p.title} at k = ${m.k}: ${pct(m.mean)} against ${pct(perm.mean)} permuted and ${pct(noise.mean)} noise`
      : `${p.title}: not computed`;
  });
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt: `Four line charts of the share of images moved against the mask's size k: ${largest.join('; ')}.`,
    data: { rows },
    table: {
      columns: ['panel', 'method', 'k', 'mean', 'lo', 'hi', 'n', 'interval', 'accuracy drop'],
      rows: rows.map((r) => [
        r.panel,
        r.method,
        r.k,
        r.mean,
        r.lo ?? '',
        r.hi ?? '',
        r.n,
        r.interval,
        r.drop,
      ]),
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export const maskCurves = defineFigure<Record<string, MaskMeta>, MaskCurveParams>({
  name: 'adversarial-mask-curves',
  module: import.meta.url,
  title: () => 'Masks against their nulls, by size',
  caption: (p) =>
    [
      `The share of test images a mask of k pixels moves (${p.images}): pushed into the target class`,
      "(other classes' images now classified as the target) or, bottom right, out of it (the target's own",
      `images no longer so), for the mask (${colourName('eigen')}), the same mask with its pixels placed at random`,
      `(${colourName('random')}) and half-normal noise of the same L2 norm on the same pixels`,
      `(${colourName('noise')}). Means over ${p.targets} target classes; bands are 95% t intervals over`,
      `${p.seeds} seeds' means (models trained from different seeds).`,
    ].join(' '),
  // inputs named by seed, in seed order
  render: (inputs) =>
    renderMaskCurves(
      Object.keys(inputs)
        .sort()
        .map((k) => masksOf(inputs[k]).meta),
    ),
});

export type MaskGalleryParams = { classNames: string[] };

/** For each target, its first encoder and its masks at each k, as images. */
async function renderMaskGallery(a: Artifact, params: MaskGalleryParams): Promise<FigureOutput> {
  const { meta, masks, encoders } = masksOf(a);
  const ks = meta.settings.ks;
  const rows = meta.settings.targets.map((t, i) => ({
    label: params.classNames[t]!,
    tiles: [
      { values: encoders[i]!, label: 'encoder' },
      ...masks[i]!.map((m, j) => ({ values: m, label: `k = ${ks[j]}` })),
    ],
  }));
  const { svg } = await gallerySvg(rows, {
    title: 'Adversarial masks',
    height: 28,
    width: 28,
    columnHeaders: ['encoder', ...ks.map((k) => `${k} pixels`)],
    zoom: 3,
  });
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt:
      `For each of ${rows.length} target classes, its first encoder (the pixel pattern that moves its top ` +
      `eigenvector's feature alone) and the masks keeping its ${ks.join(', ')} largest pixels.`,
    data: {
      ks,
      rows: meta.settings.targets.map((t, i) => ({
        target: params.classNames[t]!,
        encoder: Array.from(encoders[i]!, (x) => Number(x.toPrecision(5))),
        masks: masks[i]!.map((m) => Array.from(m, (x) => Number(x.toPrecision(5)))),
      })),
    },
    table: {
      columns: ['target', 'k', 'pixels lit', 'L2 norm'],
      rows: meta.settings.targets.flatMap((t, i) =>
        masks[i]!.map((m, j) => [
          params.classNames[t]!,
          ks[j]!,
          m.filter((x) => x > 0).length,
          Number(Math.hypot(...m).toPrecision(5)),
        ]),
      ),
    },
  };
}

export const maskGallery = defineFigure<{ masks: MaskMeta }, MaskGalleryParams>({
  name: 'adversarial-mask-gallery',
  module: import.meta.url,
  title: () => 'The masks',
  caption: () =>
    [
      'For each target class (one model), its first encoder: the row of the pseudo-inverse of its top',
      'positive eigenvectors (as pixel patterns) that moves the first of them alone; then the masks that keep',
      `its k largest pixels, scaled so the largest is 1 (${colourName('eigen')}: positive, on one colour scale`,
      'per tile).',
    ].join(' '),
  render: (inputs, params) => renderMaskGallery(inputs.masks, params),
});

export type MaskedImagesParams = { classNames: string[] };

/**
 * For each target, one test image of the next digit, as it is and with each mask added (clipped),
 * each labelled with what the model then says.
 */
async function renderMaskedImages(
  inputs: { data: Artifact; model: Artifact; masks: Artifact },
  params: MaskedImagesParams,
): Promise<FigureOutput> {
  const { meta, masks } = masksOf(inputs.masks);
  const layer = layerOf(asModel(inputs.model));
  const { test } = splitOf(inputs.data);
  const ks = meta.settings.ks;
  const shown = meta.settings.targets.map((t, i) => {
    const source = (t + 1) % params.classNames.length;
    const index = Array.from(test.labels).indexOf(source);
    if (index < 0) throw new Error(`masked images: no test image of class ${source}`);
    const x = test.images.subarray(index * test.dim, (index + 1) * test.dim);
    const images = [null, ...masks[i]!].map((m) =>
      Float64Array.from(x, (v, p) => Math.min(1, Math.max(0, v + (m ? m[p]! : 0)))),
    );
    const said = predict(layer, concat(images), images.length);
    return { t, source, index, images, said: Array.from(said, (c) => params.classNames[c]!) };
  });
  const { svg } = await gallerySvg(
    shown.map((s) => ({
      label: `→ ${params.classNames[s.t]!}`,
      tiles: s.images.map((values, j) => ({ values, label: `says ${s.said[j]!}` })),
    })),
    {
      title: 'Masked images',
      height: 28,
      width: 28,
      columnHeaders: ['image', ...ks.map((k) => `+ ${k} pixels`)],
      zoom: 3,
      limit: 1,
      labelWidth: 70,
      legend: 'pixel intensity, 0 (blank) to 1 (full ink)',
    },
  );
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt:
      `For each of ${shown.length} target digits, a test image of the next digit, alone and with the ` +
      `target's masks of ${ks.join(', ')} pixels added, each labelled with the model's answer: ` +
      shown
        .map((s) => `${params.classNames[s.source]} → ${params.classNames[s.t]}: ${s.said.join(', ')}`)
        .join('; ') +
      '.',
    data: {
      ks,
      rows: shown.map((s) => ({
        target: params.classNames[s.t]!,
        image: s.index,
        label: params.classNames[s.source]!,
        says: s.said,
      })),
    },
    table: {
      columns: ['target', 'test image', 'its label', 'added pixels', 'model says'],
      rows: shown.flatMap((s) =>
        s.said.map((said, j) => [
          params.classNames[s.t]!,
          s.index,
          params.classNames[s.source]!,
          j === 0 ? 0 : ks[j - 1]!,
          said,
        ]),
      ),
    },
  };
}

function concat(rows: Float64Array[]): Float64Array {
  const out = new Float64Array(rows.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

export const maskedImages = defineFigure<
  { data: DataMeta; model: ModelMeta; masks: MaskMeta },
  MaskedImagesParams
>({
  name: 'adversarial-masked-images',
  module: import.meta.url,
  title: () => 'Masked images',
  caption: () =>
    [
      'For each target digit (one model), the first test image of the next digit, alone and with each of',
      "the target's masks added (clipped to [0, 1]; darker red is brighter ink), under each the class the",
      'model then gives it.',
    ].join(' '),
  render: (inputs, params) => renderMaskedImages(inputs, params),
});
