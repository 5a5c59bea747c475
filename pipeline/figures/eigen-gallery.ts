/**
 * Galleries of eigenvector features as input-space images (paper Fig. 3): for each row (a class,
 * a HOSVD component, a model), the eigenvectors with the largest positive and the most negative
 * eigenvalues. Positive eigenvectors raise the output by λ (f·x)² when the input matches them;
 * negative ones lower it.
 */
import type { Artifact } from '../cache/artifact.ts';
import { asEigen, classEigen, layerOf, type EigenMeta } from '../decompose/job.ts';
import { eigenvector, type Eigen } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { asModel, type ModelMeta } from '../train/job.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';
import { gallerySvg, svgToPng } from './images.ts';
import { formatValue } from './svg.ts';
import { countWord } from './words.ts';

export interface Shown {
  sign: 'positive' | 'negative';
  rank: number; // 1-based rank among eigenvectors of this sign
  index: number; // position in the |λ| order
  eigenvalue: number;
  feature: Float64Array;
}

/**
 * An eigenvector's name as the gallery writes it: its sign and its rank among eigenvalues of that
 * sign by |λ| ("+1" is the largest positive, "−2" the second most negative). `index` is 0-based
 * in the |λ| order; λ = 0 counts as positive.
 */
export function signedRank(values: ArrayLike<number>, index: number): string {
  const positive = (x: number) => x >= 0;
  const sign = positive(values[index]!);
  let rank = 0;
  for (let i = 0; i <= index; i++) if (positive(values[i]!) === sign) rank++;
  return `${sign ? '+' : '−'}${rank}`;
}

/** The first `count` eigenvectors of one sign, in |λ| order, as input-space features. */
export function pickSign(eig: Eigen, layer: BilinearLayer, sign: 1 | -1, count: number): Shown[] {
  const picked: Shown[] = [];
  for (let i = 0; i < eig.n && picked.length < count; i++) {
    if (Math.sign(eig.values[i]!) !== sign) continue;
    picked.push({
      sign: sign > 0 ? 'positive' : 'negative',
      rank: picked.length + 1,
      index: i,
      eigenvalue: eig.values[i]!,
      feature: inputFeature(layer, eigenvector(eig, i)),
    });
  }
  return picked;
}

/** The top `perSign` positive, then the top `perSign` negative eigenvectors. */
export function pickBySign(eig: Eigen, layer: BilinearLayer, perSign: number): Shown[] {
  return [...pickSign(eig, layer, 1, perSign), ...pickSign(eig, layer, -1, perSign)];
}

export interface GalleryOptions {
  title: string;
  perSign: number;
  height: number;
  width: number;
  /** What a row is, for the data's column name ("class", "HOSVD component", …). */
  rowKind: string;
  alt: string;
  /** Column headers; defaults to +1 … +n, −1 … −n. */
  headers?: string[];
}

/** A gallery figure: SVG (tiles as embedded PNGs), PNG, the features as JSON and CSV. */
export async function renderFeatureGallery(
  rows: { label: string; picks: Shown[] }[],
  options: GalleryOptions,
): Promise<FigureOutput> {
  const headers = options.headers ?? [
    ...Array.from({ length: options.perSign }, (_, i) => `+${i + 1}`),
    ...Array.from({ length: options.perSign }, (_, i) => `−${i + 1}`),
  ];
  const { svg } = await gallerySvg(
    rows.map((r) => ({
      label: r.label,
      tiles: r.picks.map((s) => ({ values: s.feature, label: `λ = ${formatValue(s.eigenvalue)}` })),
    })),
    { title: options.title, height: options.height, width: options.width, columnHeaders: headers, zoom: 4 },
  );
  const pixels = options.height * options.width;
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt: options.alt,
    data: {
      counting:
        'rank counts eigenvectors of one sign from 1; index is the 1-based ' +
        'position in the |λ| order of all of them',
      height: options.height,
      width: options.width,
      columns: headers,
      rows: rows.map((r) => ({
        [options.rowKind]: r.label,
        eigenvectors: r.picks.map((s) => ({
          sign: s.sign,
          rank: s.rank,
          index: s.index + 1,
          eigenvalue: round7(s.eigenvalue),
          feature: Array.from(s.feature, round7),
        })),
      })),
    },
    table: {
      columns: [
        options.rowKind.replace(/\s+/g, '_'),
        'column',
        'sign',
        'rank',
        'index_by_abs_eigenvalue',
        'eigenvalue',
        ...Array.from({ length: pixels }, (_, i) => `px${i}`),
      ],
      rows: rows.flatMap((r) =>
        r.picks.map((s, c) => [
          r.label,
          headers[c]!,
          s.sign,
          s.rank,
          s.index + 1,
          round7(s.eigenvalue),
          ...Array.from(s.feature, round7),
        ]),
      ),
    },
  };
}

export type GalleryParams = {
  /** How many eigenvectors of each sign to show per class. */
  perSign: number;
  height: number;
  width: number;
  classNames: string[];
  /** What a class is called in titles: "digit" (MNIST) or "class". */
  classWord: string;
};

/** Each class's top positive and negative eigenvectors. */
export const eigenGallery = defineFigure<{ model: ModelMeta; eigen: EigenMeta }, GalleryParams>({
  name: 'eigenvector-gallery',
  module: import.meta.url,
  title: (p) => `Top eigenvectors of each ${p.classWord}`,
  caption: (p) =>
    [
      `For each class, the ${countWord(p.perSign)} eigenvectors of its interaction matrix with the largest`,
      `positive eigenvalues (+1…+${p.perSign}) and the ${countWord(p.perSign)} with the most negative`,
      `(−1…−${p.perSign}), projected back to pixel space. Red pixels push the eigenvector's projection up,`,
      'blue down; the logit changes by λ times the squared projection.',
    ].join(' '),
  render: async (inputs, params) => {
    const layer = layerOf(inputs.model);
    return renderClassGallery(
      params.classNames.map((name, a) => ({
        label: name,
        picks: pickBySign(classEigen(inputs.eigen, a), layer, params.perSign),
      })),
      params,
    );
  },
});

function renderClassGallery(
  rows: { label: string; picks: Shown[] }[],
  params: GalleryParams,
): Promise<FigureOutput> {
  return renderFeatureGallery(rows, {
    title: 'Top positive and negative eigenvectors of each class',
    perSign: params.perSign,
    height: params.height,
    width: params.width,
    rowKind: 'class',
    alt:
      `A grid with one row per class (${params.classNames.join(', ')}); in ` +
      `each row the ${params.perSign} eigenvectors with the largest positive ` +
      `eigenvalues, then the ${params.perSign} with the most negative, drawn ` +
      `as ${params.height}×${params.width} images in red (positive) and blue (negative).`,
  });
}

/** One model of a comparison: its column label and the input names of its model and eigen artifacts. */
export type ComparedModel = { label: string; model: string; eigen: string };

/** The comparison's models, in order: none, the paper's recipe, the recipe with input noise. */
type ComparisonParams = GalleryParams & {
  models: ComparedModel[];
  recipe: { latentNoise: number; weightDecay: number; inputNoise: number };
};

/**
 * The same classes' top positive eigenvectors in several models side by side (the report's
 * regularisation steps: none, the paper's recipe, the recipe with input noise), in the order given.
 */
export const regularizationComparison = defineFigure<Record<string, unknown>, ComparisonParams>({
  name: 'regularization-comparison',
  module: import.meta.url,
  title: () => 'One regulariser at a time',
  caption: (p) =>
    [
      `Each class's top ${countWord(p.perSign)} positive eigenvectors in ${countWord(p.models.length)}`,
      'models trained from the same initial weights and data order: without regularisation (left), with',
      `the paper's recipe of latent noise ${p.recipe.latentNoise} and weight decay ${p.recipe.weightDecay}`,
      `(middle, headed σ + decay), and with input noise ${p.recipe.inputNoise} added to the recipe (right,`,
      "the report's model).",
    ].join(' '),
  render: (inputs, params) => renderRegularizationComparison(inputs, params),
});

async function renderRegularizationComparison(
  inputs: Record<string, unknown>,
  params: ComparisonParams,
): Promise<FigureOutput> {
  const compared = params.models.map((m) => ({
    ...m,
    layer: layerOf(asModel(inputs[m.model] as Artifact, m.model)),
    eigen: asEigen(inputs[m.eigen] as Artifact, m.eigen),
  }));
  const rows = params.classNames.map((name, a) => ({
    label: name,
    picks: compared.flatMap((m) => pickSign(classEigen(m.eigen, a), m.layer, 1, params.perSign)),
  }));
  const headers = compared.flatMap((m) =>
    Array.from({ length: params.perSign }, (_, i) => `${m.label} +${i + 1}`),
  );
  return renderFeatureGallery(rows, {
    title: `Top positive eigenvectors: ${compared.map((m) => m.label).join(' | ')}`,
    perSign: params.perSign,
    height: params.height,
    width: params.width,
    rowKind: 'class',
    headers,
    alt:
      `A grid with one row per class and, left to right, the ${params.perSign} ` +
      `top positive eigenvectors of each model: ${compared.map((m) => m.label).join('; ')}.`,
  });
}
