/**
 * The top positive and top negative eigenvectors of every class, as input-space images
 * (paper Fig. 3). Positive eigenvectors raise the class's logit by λ (f·x)² when the input
 * matches them; negative ones lower it.
 */
import type { Artifact } from '../cache/artifact.ts';
import { classEigen, layerOf } from '../decompose/job.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import type { FigureOutput } from './job.ts';
import { round7 } from './job.ts';
import { gallerySvg, svgToPng, type GalleryRow } from './images.ts';
import { formatValue } from './svg.ts';

export interface GalleryParams {
  /** How many eigenvectors of each sign to show per class. */
  perSign: number;
  height: number;
  width: number;
  classNames: string[];
}

interface Shown {
  sign: 'positive' | 'negative';
  rank: number; // 1-based rank among eigenvectors of this sign
  index: number; // position in the |λ| order
  eigenvalue: number;
  feature: Float64Array;
}

/** The first `count` eigenvectors of the given sign, in |λ| order. */
function pick(values: Float64Array, sign: 1 | -1, count: number): number[] {
  const picked: number[] = [];
  for (let i = 0; i < values.length && picked.length < count; i++) if (Math.sign(values[i]!) === sign) picked.push(i);
  return picked;
}

export async function renderEigenGallery(inputs: Record<string, Artifact>, params: GalleryParams): Promise<FigureOutput> {
  const layer = layerOf(inputs['model']!);
  const perClass = params.classNames.map((_, a) => {
    const eig = classEigen(inputs['eigen']!, a);
    const show = (sign: 1 | -1): Shown[] =>
      pick(eig.values, sign, params.perSign).map((index, r) => ({
        sign: sign > 0 ? 'positive' : 'negative',
        rank: r + 1,
        index,
        eigenvalue: eig.values[index]!,
        feature: inputFeature(layer, eigenvector(eig, index)),
      }));
    return [...show(1), ...show(-1)];
  });
  const rows: GalleryRow[] = perClass.map((shown, a) => ({
    label: params.classNames[a]!,
    tiles: shown.map((s) => ({ values: s.feature, label: `λ = ${formatValue(s.eigenvalue)}` })),
  }));
  const headers = [
    ...Array.from({ length: params.perSign }, (_, i) => `+${i + 1}`),
    ...Array.from({ length: params.perSign }, (_, i) => `−${i + 1}`),
  ];
  const title = 'Top positive and negative eigenvectors of each class';
  const { svg } = await gallerySvg(rows, { title, height: params.height, width: params.width, columnHeaders: headers, zoom: 4 });
  const pixels = params.height * params.width;
  return {
    kind: 'image',
    svg,
    png: await svgToPng(svg),
    alt: `${title}: a grid with one row per class (${params.classNames.join(', ')}); in each row the ${params.perSign} eigenvectors with the largest positive eigenvalues, then the ${params.perSign} with the most negative, drawn as ${params.height}×${params.width} images in red (positive) and blue (negative).`,
    data: {
      height: params.height,
      width: params.width,
      classes: perClass.map((shown, a) => ({
        class: a,
        name: params.classNames[a]!,
        eigenvectors: shown.map((s) => ({ sign: s.sign, rank: s.rank, index: s.index + 1, eigenvalue: round7(s.eigenvalue), feature: Array.from(s.feature, round7) })),
      })),
    },
    table: {
      columns: ['class', 'name', 'sign', 'rank', 'index_by_abs_eigenvalue', 'eigenvalue', ...Array.from({ length: pixels }, (_, i) => `px${i}`)],
      rows: perClass.flatMap((shown, a) =>
        shown.map((s) => [a, params.classNames[a]!, s.sign, s.rank, s.index + 1, round7(s.eigenvalue), ...Array.from(s.feature, round7)]),
      ),
    },
  };
}
