/**
 * Per-input explanations, browsable one page per input: the image, its top logits, and for each
 * the eigenvectors that contribute most, λ_i (f_i · x)², with the sum of all the others. The
 * figure itself is an overview of the explained inputs.
 */
import { explain } from '../analysis/explain.ts';
import type { Inputs } from '../cache/job.ts';
import { splitOf, type DataMeta } from '../data/job.ts';
import { classEigen, layerOf, type EigenMeta } from '../decompose/job.ts';
import { eigenvector } from '../decompose/eigen.ts';
import { inputFeature } from '../decompose/features.ts';
import { maxAbs } from './colormap.ts';
import { signedRank } from './eigen-gallery.ts';
import { colourBar, featurePng, grayPng, pngImage } from './images.ts';
import type { ModelMeta } from '../train/job.ts';
import { defineFigure, round7, type FigureOutput, type FigurePage } from './job.ts';
import { escapeXml, formatValue, svgDocument } from './svg.ts';

export type ExplanationParams = {
  classNames: string[];
  height: number;
  width: number;
  /** Misclassified test images to explain besides the first of each class. */
  misclassified: number;
  topClasses: number;
  topFeatures: number;
};

const signed = (x: number) => `${x >= 0 ? '+' : ''}${formatValue(x)}`;
/** A page's table is read, not recomputed (the data files keep 7 digits): 4 significant ones. */
const readable = (x: number) => Number(x.toPrecision(4));

export const inputExplanations = defineFigure<
  { model: ModelMeta; eigen: EigenMeta; data: DataMeta },
  ExplanationParams
>({
  name: 'input-explanations',
  module: import.meta.url,
  title: () => 'Explanations of single test images',
  caption: () =>
    [
      'The first test image of each class and the first misclassified ones, with the true class and the',
      'prediction. Each has its own page: its top logits, each split exactly into the contributions of',
      "the class's eigenvectors.",
    ].join(' '),
  render: (inputs, params) => renderExplanations(inputs, params),
});

async function renderExplanations(
  inputs: Inputs<{ model: ModelMeta; eigen: EigenMeta; data: DataMeta }>,
  params: ExplanationParams,
): Promise<FigureOutput> {
  const layer = layerOf(inputs.model);
  const eigs = params.classNames.map((_, a) => classEigen(inputs.eigen, a));
  const { test } = splitOf(inputs.data);
  const pixels = (i: number) => test.images.subarray(i * test.dim, (i + 1) * test.dim);
  const chosen = chooseInputs(
    test.labels,
    params.classNames.length,
    (i) => explain(layer, eigs, pixels(i), 1, 0).classes[0]!.class,
    params.misclassified,
  );
  const explained = chosen.map((i) => ({
    i,
    id: `test-${String(i).padStart(5, '0')}`,
    label: test.labels[i]!,
    ...explain(layer, eigs, pixels(i), params.topClasses, params.topFeatures),
  }));
  /** An eigenvector (1-based |λ| index) named as the gallery names it: "+2", "−1". */
  const nameOf = (a: number, index: number) => signedRank(eigs[a]!.values, index - 1);
  const pages: FigurePage[] = [];
  for (const ex of explained) {
    const predicted = ex.classes[0]!.class;
    const [truth, guess] = [params.classNames[ex.label], params.classNames[predicted]];
    const title = `Test image ${ex.i}: ${truth}, predicted ${guess}`;
    const svg = await explanationSvg(
      ex,
      pixels(ex.i),
      title,
      params,
      (a, index) => inputFeature(layer, eigenvector(eigs[a]!, index - 1)),
      nameOf,
    );
    pages.push({
      id: ex.id,
      title,
      caption:
        `The image's top ${params.topClasses} logits, each split into the ` +
        `contributions λ·(f·x)² of the class's eigenvectors; the ` +
        `${params.topFeatures} largest are drawn, and "rest" sums the other ` +
        `${layer.d - params.topFeatures}. Contributions add up to the logit exactly.`,
      alt:
        `${title}. ` +
        ex.classes.map((c) => `${params.classNames[c.class]}: logit ${formatValue(c.logit)}`).join('; ') +
        '.',
      svg,
      table: {
        columns: [
          'class',
          'logit',
          'eigenvector (by sign, as in the gallery)',
          'rank by |λ|',
          'eigenvalue λ',
          'projection f·x',
          'contribution λ(f·x)²',
        ],
        rows: ex.classes.flatMap((c) => [
          ...c.top.map((t) => [
            params.classNames[c.class]!,
            readable(c.logit),
            nameOf(c.class, t.index),
            t.index,
            readable(t.eigenvalue),
            readable(t.projection),
            readable(t.contribution),
          ]),
          [params.classNames[c.class]!, readable(c.logit), 'rest', '', '', '', readable(c.rest)],
        ]),
      },
    });
  }
  const overview = await overviewSvg(
    explained.map((ex) => ({
      id: ex.id,
      label: params.classNames[ex.label]!,
      predicted: params.classNames[ex.classes[0]!.class]!,
      pixels: pixels(ex.i),
    })),
    params,
  );
  return {
    kind: 'image',
    svg: overview,
    alt:
      `${explained.length} test images, each with its true and predicted ` +
      `class; each has its own page with the eigenvector contributions to its top logits.`,
    data: {
      counting: "index is the 1-based position of an eigenvector in its class's |λ| order",
      inputs: explained.map((ex) => ({
        id: ex.id,
        testIndex: ex.i,
        label: params.classNames[ex.label]!,
        logits: ex.logits.map(round7),
        classes: ex.classes.map((c) => ({
          class: params.classNames[c.class]!,
          logit: round7(c.logit),
          rest: round7(c.rest),
          top: c.top.map((t) => ({
            index: t.index,
            name: nameOf(c.class, t.index),
            eigenvalue: round7(t.eigenvalue),
            projection: round7(t.projection),
            contribution: round7(t.contribution),
          })),
        })),
      })),
    },
    table: {
      columns: ['input', 'test_index', 'label', 'predicted', ...params.classNames.map((n) => `logit_${n}`)],
      rows: explained.map((ex) => [
        ex.id,
        ex.i,
        params.classNames[ex.label]!,
        params.classNames[ex.classes[0]!.class]!,
        ...ex.logits.map(round7),
      ]),
    },
    pages,
  };
}

/** The first test image of each class, then the first `misclassified` images the model gets wrong. */
function chooseInputs(
  labels: Uint8Array,
  classes: number,
  predict: (i: number) => number,
  misclassified: number,
): number[] {
  const first = Array.from({ length: classes }, (_, a) => labels.indexOf(a)).filter((i) => i >= 0);
  const wrong: number[] = [];
  for (let i = 0; i < labels.length && wrong.length < misclassified; i++)
    if (!first.includes(i) && predict(i) !== labels[i]) wrong.push(i);
  return [...first, ...wrong];
}

async function overviewSvg(
  items: { id: string; label: string; predicted: string; pixels: ArrayLike<number> }[],
  params: ExplanationParams,
): Promise<string> {
  const zoom = 3;
  const [w, h] = [params.width * zoom, params.height * zoom];
  const perRow = 6;
  const cell = { w: w + 40, h: h + 44 };
  const width = 20 + perRow * cell.w;
  const height = 20 + Math.ceil(items.length / perRow) * cell.h;
  const body: string[] = [];
  for (const [n, item] of items.entries()) {
    const x = 20 + (n % perRow) * cell.w;
    const y = 14 + Math.floor(n / perRow) * cell.h;
    const wrong = item.label !== item.predicted;
    body.push(
      pngImage(await grayPng(item.pixels, params.height, params.width, 1), x, y, w, h),
      `<text x="${x + w / 2}" y="${y + h + 14}" font-size="11" ` +
        `text-anchor="middle">${escapeXml(item.label)}</text>`,
      `<text x="${x + w / 2}" y="${y + h + 28}" font-size="11" ` +
        `text-anchor="middle" fill="${wrong ? '#b2182b' : '#555'}">→ ` +
        `${escapeXml(item.predicted)}</text>`,
    );
  }
  return svgDocument(width, height, 'Explained test images: true class and prediction', body);
}

async function explanationSvg(
  ex: ReturnType<typeof explain> & { label: number },
  pixels: ArrayLike<number>,
  title: string,
  params: ExplanationParams,
  feature: (a: number, index: number) => Float64Array,
  name: (a: number, index: number) => string,
): Promise<string> {
  const zoom = 3;
  const [w, h] = [params.width * zoom, params.height * zoom];
  const left = w + 150;
  const col = w + 30;
  const rowH = h + 44;
  const width = Math.max(left + params.topFeatures * col + 110, left + 500); // room for the colour bar's note
  const height = 30 + ex.classes.length * rowH + 40; // the colour bar of the eigenvector tiles below
  const body = [
    pngImage(await grayPng(pixels, params.height, params.width, 1), 10, 30, w, h),
    `<text x="${10 + w / 2}" y="${30 + h + 16}" font-size="11" ` +
      `text-anchor="middle">input (${escapeXml(params.classNames[ex.label]!)})</text>`,
    `<text x="${left}" y="16" font-size="12" fill="#333">contribution ` +
      `λ·(f·x)² of each eigenvector f to the logit</text>`,
  ];
  for (const [r, c] of ex.classes.entries()) {
    const y = 30 + r * rowH;
    body.push(
      `<text x="${left - 12}" y="${y + h / 2}" font-size="13" ` +
        `font-weight="bold" text-anchor="end">${escapeXml(params.classNames[c.class]!)}</text>`,
      `<text x="${left - 12}" y="${y + h / 2 + 16}" font-size="11" ` +
        `text-anchor="end">logit ${escapeXml(formatValue(c.logit))}</text>`,
    );
    for (const [k, t] of c.top.entries()) {
      const f = feature(c.class, t.index);
      const x = left + k * col;
      body.push(
        pngImage(await featurePng(f, params.height, params.width, maxAbs(f) || 1, 1), x, y, w, h),
        `<text x="${x + w / 2}" y="${y + h + 13}" font-size="10" text-anchor="middle">${name(c.class, t.index)}, λ ` +
          `${escapeXml(formatValue(t.eigenvalue))}</text>`,
        `<text x="${x + w / 2}" y="${y + h + 26}" font-size="11" ` +
          `font-weight="bold" text-anchor="middle" fill="${t.contribution >= 0 ? '#b2182b' : '#2166ac'}">` +
          `${escapeXml(signed(t.contribution))}</text>`,
      );
    }
    body.push(
      `<text x="${left + c.top.length * col + 4}" y="${y + h / 2 + 4}" ` +
        `font-size="11">rest ${escapeXml(signed(c.rest))}</text>`,
    );
  }
  body.push(...colourBar(left, height - 40, 240));
  return svgDocument(width, height, title, body);
}
