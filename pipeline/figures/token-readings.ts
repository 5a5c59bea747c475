/**
 * Figures of the language report's readings (analysis/language-readings.ts): the spectra of Q_u
 * across the chosen output tokens, and the list of tokens with one page per token (its spectrum,
 * its top eigenvectors read through tokens and held-out contexts, and its Table 1 row).
 */
import type { TopLevelSpec } from 'vega-lite';
import { asJson, requireTensor } from '../cache/artifact.ts';
import type { Inputs } from '../cache/job.ts';
import {
  asReadings,
  type DirectionReading,
  type Reading,
  type ReadingsMeta,
} from '../analysis/language-readings.ts';
import { colours, SIGNS } from './palette.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, round7, type FigureOutput, type FigurePage } from './job.ts';
import { formatValue } from './svg.ts';
import { tableFigure } from './table.ts';
import { asCurves, type CurvesMeta, type DirectionCurves } from '../analysis/language-curves.ts';
import { tInterval } from '../analysis/stats.ts';
import type { OutputChoice } from '../analysis/output-tokens.ts';
import { logTicks } from './baselines.ts';
import { contextSpecificity, positionKey } from '../analysis/context-specificity.ts';
import { signedRank } from './eigen-gallery.ts';

type ReadingInputs = Inputs<{ readings: ReadingsMeta; curves?: CurvesMeta }>;

/** A token's text as a reader sees it: quoted, so a leading space shows. */
function quoted(text: string): string {
  return JSON.stringify(text);
}

const list = (r: Reading['top'], n = 5) =>
  r
    .slice(0, n)
    .map((t) => quoted(t.text))
    .join(', ');
/** Tokens with their scores, for a token's own page. */
const scored = (r: Reading['top'], n = 8) =>
  r
    .slice(0, n)
    .map((t) => `${quoted(t.text)} ${formatValue(t.score)}`)
    .join(', ');

/** Each direction's eigenvalues from the artifact, in the canonical order (by |λ|). */
function spectraOf(inputs: ReadingInputs): { direction: DirectionReading; values: Float64Array }[] {
  const readings = asReadings(inputs.readings);
  return readings.meta.directions.map((direction, i) => ({
    direction,
    values: requireTensor(readings, `direction${i}.values`, 'readings').data as Float64Array,
  }));
}

/** Eigenvalues sorted from the most positive to the most negative, over max |λ|. */
function sortedRows(title: string, wordClass: string, values: Float64Array) {
  const max = Math.max(...Array.from(values, Math.abs)) || 1;
  return [...values]
    .sort((a, b) => b - a)
    .map((value, i) => ({
      token: title,
      class: wordClass,
      position: i + 1,
      value: round7(value),
      relative: round7(value / max),
    }));
}

async function renderSpectra(inputs: ReadingInputs): Promise<FigureOutput> {
  const spectra = spectraOf(inputs);
  const rows = spectra.flatMap(({ direction, values }) =>
    sortedRows(direction.title, direction.wordClass, values),
  );
  const d = spectra[0]!.values.length;
  // Small multiples, one panel per token (titled with its word class): a dozen overlaid lines
  // cannot be told apart, and a colour per token would spend the site's palette on names.
  // token and word class on two lines, so a long token does not widen every column
  // (a difference of directions breaks before its minus sign)
  const panelOf = (token: string, wordClass: string) => `${token.replaceAll(' − ', '|− ')}|${wordClass}`;
  const panels = spectra.map((s) => panelOf(s.direction.title, s.direction.wordClass));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      "Eigenvalues of each chosen output token's interaction matrix, from the " +
      'most positive to the most negative, over the largest |λ|',
    data: {
      values: rows.map((r) => ({
        ...r,
        panel: panelOf(r.token, r.class),
        sign: r.value >= 0 ? 'positive' : 'negative',
      })),
    },
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: panels,
      header: { labelLimit: 0, labelExpr: "split(datum.label, '|')" },
    },
    columns: 4,
    spec: {
      width: 170,
      height: 90,
      layer: [
        // the zero line, drawn once per panel (not once per eigenvalue)
        {
          transform: [{ filter: 'datum.position === 1' }],
          mark: { type: 'rule', color: '#999', strokeDash: [2, 2] },
          encoding: { y: { datum: 0 } },
        },
        {
          // one filled step per eigenvalue, from 0: a spectrum of d values, readable at any d, drawn
          // as one shape per sign (a stroke per eigenvalue made a dozen panels of 288 weigh a megabyte)
          mark: { type: 'area', interpolate: 'step' },
          encoding: {
            x: {
              field: 'position',
              type: 'quantitative',
              title: `λ, sorted (of ${d})`,
              scale: { domain: [0.5, d + 0.5], nice: false },
              axis: { values: [1, d] },
            },
            y: { field: 'relative', type: 'quantitative', title: 'λ / max |λ|', scale: { domain: [-1, 1] } },
            y2: { datum: 0 },
            color: {
              field: 'sign',
              type: 'nominal',
              title: null,
              scale: { domain: ['positive', 'negative'], range: [SIGNS.positive.hex, SIGNS.negative.hex] },
              legend: null,
            },
          },
        },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Step charts, one panel per output direction, of the ${d} eigenvalues of each ` +
      `chosen output token's interaction matrix Q_u, sorted from the most ` +
      `positive to the most negative and divided by the largest |λ|: ` +
      spectra
        .map((s) => `${s.direction.title} (effective rank ${formatValue(s.direction.effectiveRank)})`)
        .join(', ') +
      '.',
    data: asJson({
      directions: spectra.map(({ direction, values }) => ({
        slug: direction.slug,
        title: direction.title,
        class: direction.wordClass,
        effectiveRank: round7(direction.effectiveRank),
        positive: direction.positive,
        negative: direction.negative,
        eigenvalues: Array.from(values, round7),
      })),
    }),
    table: {
      columns: ['token', 'class', 'position', 'eigenvalue', 'relative'],
      rows: rows.map((r) => [r.token, r.class, r.position, r.value, r.relative]),
    },
  };
}

/** One token's page: its spectrum as a chart, and every reading as a table. */
/**
 * One direction's explained-by-k curves for its page: eigen and PCA as they are, random as the
 * mean over its draws with a 95% t interval over the draws (the draws are this token's units).
 */
function tokenCurveRows(curves: DirectionCurves) {
  return curves.eigen.flatMap((point, i) => {
    const random = tInterval(curves.random.map((c) => c[i]!.correlation));
    return [
      { k: point.k, method: 'top-k eigenvectors', mean: round7(point.correlation), lo: null, hi: null },
      {
        k: point.k,
        method: 'k random directions',
        mean: round7(random.mean),
        lo: random.lo === null ? null : round7(Math.max(-1, random.lo)),
        hi: random.hi === null ? null : round7(Math.min(1, random.hi)),
      },
      {
        k: point.k,
        method: 'top-k principal directions',
        mean: round7(curves.pca[i]!.correlation),
        lo: null,
        hi: null,
      },
    ];
  });
}

/** What the page says of the read model: its heads, and which layer of how many (normalised or not). */
type ReadModel = Pick<ReadingsMeta, 'heads' | 'layerIndex' | 'layers' | 'normalized'>;

async function tokenPage(
  direction: DirectionReading,
  values: Float64Array,
  model: ReadModel,
  shared: Set<string>,
  curves?: DirectionCurves,
): Promise<FigurePage> {
  const chosen = new Set(direction.eigenvectors.map((e) => e.index));
  const points = Array.from(values, (value, i) => ({
    index: i + 1,
    value: round7(value),
    read: chosen.has(i) ? 'read below' : 'not read',
  }));
  const spectrum = {
    data: { values: points },
    width: 520,
    height: 180,
    mark: { type: 'bar' as const },
    encoding: {
      x: {
        field: 'index',
        type: 'ordinal',
        title: 'eigenvector, by |λ| (1 = largest)',
        axis: {
          values: points.filter((p) => p.index === 1 || p.index % 16 === 0).map((p) => p.index),
          labelAngle: 0,
        },
      },
      y: { field: 'value', type: 'quantitative', title: 'eigenvalue λ' },
      color: {
        field: 'read',
        type: 'nominal',
        title: null,
        scale: { domain: ['read below', 'not read'], range: ['#b2182b', '#bbbbbb'] },
        legend: { orient: 'top' },
      },
    },
  };
  const curveRows = curves ? tokenCurveRows(curves) : [];
  const K = curveRows.length / 3;
  const x = {
    field: 'k',
    type: 'quantitative' as const,
    title: 'k (log scale)',
    scale: { type: 'log' as const, domain: [1, K], nice: false },
    axis: { values: logTicks(K) },
  };
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: null,
    scale: {
      domain: ['top-k eigenvectors', 'k random directions', 'top-k principal directions'],
      range: colours('eigen', 'random', 'pcaShared'),
    },
    legend: {
      orient: 'right' as const,
      labelLimit: 0,
      symbolType: 'stroke',
      symbolStrokeWidth: 2.5,
      symbolOpacity: 1,
    },
  };
  const explained = {
    data: { values: curveRows },
    width: 360,
    height: 160,
    title: {
      text: 'correlation with uᵀ MLP(x) over held-out positions, by k',
      fontSize: 12,
      fontWeight: 'normal' as const,
    },
    layer: [
      {
        mark: { type: 'errorband' as const, opacity: 0.2 },
        transform: [{ filter: 'datum.lo !== null' }],
        encoding: {
          x,
          y: {
            field: 'lo',
            type: 'quantitative' as const,
            title: 'correlation',
            scale: { domain: [Math.min(0, ...curveRows.map((r) => r.lo ?? r.mean)), 1] },
          },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        mark: { type: 'line' as const, strokeWidth: 2 },
        encoding: { x, y: { field: 'mean', type: 'quantitative' as const }, color },
      },
    ],
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      `Eigenvalues of Q_u for ${direction.title}, by |λ|` +
      (curves ? ', and how much the top-k eigenvectors explain' : ''),
    vconcat: curves ? [spectrum, explained] : [spectrum],
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    config: CHART_CONFIG,
  } as TopLevelSpec;
  const rows: string[][] = [];
  for (const e of direction.eigenvectors) {
    // named as the gallery names eigenvectors (sign and rank within it), with its bar in the chart
    const name = `${signedRank(values, e.index)} (#${e.index + 1})`;
    const lambda = formatValue(e.eigenvalue);
    rows.push([name, lambda, 'direct (embedding · v)', scored(e.direct.top), scored(e.direct.bottom)]);
    e.heads.forEach((h, i) =>
      rows.push([name, lambda, `head ${i} (OV circuit)`, scored(h.top), scored(h.bottom)]),
    );
    // contexts specific to this token first; those at positions most tokens share, set apart after
    const contexts = e.contexts.map((c, i) => ({ c, rank: i + 1, isShared: shared.has(positionKey(c)) }));
    for (const { c, rank, isShared } of [
      ...contexts.filter((x) => !x.isShared),
      ...contexts.filter((x) => x.isShared),
    ])
      rows.push([
        name,
        lambda,
        isShared
          ? `held-out context ${rank}, at a position shared with most tokens`
          : `held-out context ${rank}`,
        `…${c.before}⟦${c.token}⟧ → ${c.next}`,
        `λ(v·x)² = ${formatValue(c.activation)}, ${(100 * c.share).toFixed(0)}% ` +
          `of |contributions|, uᵀMLP(x) = ${formatValue(c.total)}`,
      ]);
  }
  rows.push([
    'all',
    '',
    'tokens alone, through the MLP (eᵀ Q_u e)',
    scored(direction.tokensThroughMlp.top),
    scored(direction.tokensThroughMlp.bottom),
  ]);
  rows.push([
    'all',
    '',
    'tokens alone, MLP and direct path',
    scored(direction.tokensWithDirect.top),
    scored(direction.tokensWithDirect.bottom),
  ]);
  return {
    id: direction.slug,
    title: `${direction.title}: reading the MLP's output for it`,
    caption:
      `The eigenvalues of Q_u for u = ` +
      (direction.terms.length === 1 ? `the unembedding row of ${quoted(direction.title)}` : direction.title) +
      ` (effective rank ${formatValue(direction.effectiveRank)}; ` +
      `${direction.positive} positive, ${direction.negative} negative)` +
      (curves
        ? ', and below them the correlation over held-out positions between uᵀ MLP(x) and its ' +
          'reconstruction from the top-k eigenvectors, k random directions (mean of ' +
          `${curves.random.length} draws, 95% t interval over the draws) and the top-k principal ` +
          'directions of the MLP inputs'
        : '') +
      `. The table reads each marked eigenvector v through the tokens whose ` +
      `embedding${model.normalized ? ' (at unit RMS, as the MLP reads it)' : ''} aligns with it ` +
      `(directly and, as virtual tokens, through each of the ${model.heads} heads' OV circuits` +
      `${model.layers > 1 ? ` of layer ${model.layerIndex}` : ''}; highest and lowest scores), the ` +
      `held-out contexts where |λ(v·x)²| is largest (distinct texts, as a ` +
      `story opening recurs across windows; the active token in ⟦ ⟧, then the ` +
      `token that follows; contexts at positions among the top contexts of at least half the tokens ` +
      `read are listed after the others, marked shared: they say little about this token), and, ` +
      `last, the tokens that alone most raise and most lower the output. ` +
      (model.layers > 1
        ? `The MLP read is layer ${model.layerIndex} of ${model.layers}: the contexts are the model's ` +
          `own stream at each position, exact; the token readings take the stream before the MLP to ` +
          `be one token's embedding, as if the layers before it wrote nothing, which they do not. `
        : '') +
      `Eigenvectors are named by ` +
      `sign and rank within it (+1 is the largest positive), with their rank by |λ| in the chart.`,
    alt:
      `Bar chart of the eigenvalues of the interaction matrix for ` +
      `${direction.title}, the ones read in the table marked.`,
    svg: await renderChart(spec),
    table: {
      columns: ['eigenvector', 'λ', 'read through', 'highest (token score)', 'lowest (token score)'],
      rows,
    },
  };
}

async function renderTokenList(inputs: ReadingInputs): Promise<FigureOutput> {
  const spectra = spectraOf(inputs);
  const model = asReadings(inputs.readings).meta;
  const columns = [
    'token',
    'word class',
    'training count',
    'effective rank',
    'λ > 0 / λ < 0',
    'top positive eigenvector: direct tokens',
    'tokens that most raise it through the MLP',
    'top contexts at shared positions',
  ];
  const specificity = contextSpecificity(spectra.map((s) => s.direction));
  const sharedKeys = new Set(specificity.shared.map((s) => s.key));
  const cells = spectra.map(({ direction }, i) => {
    const top = direction.eigenvectors[0];
    return [
      direction.title,
      direction.wordClass,
      String(direction.count),
      formatValue(direction.effectiveRank),
      `${direction.positive} / ${direction.negative}`,
      top ? list(top.direct.top, 4) : '',
      list(direction.tokensThroughMlp.top, 4),
      `${(100 * specificity.sharedShare[i]!).toFixed(0)}%`,
    ];
  });
  const curves = inputs.curves ? asCurves(inputs.curves).meta.directions : [];
  const pages = await Promise.all(
    spectra.map(({ direction, values }) =>
      tokenPage(
        direction,
        values,
        model,
        sharedKeys,
        curves.find((c) => c.slug === direction.slug),
      ),
    ),
  );
  return {
    ...tableFigure({
      title: 'Output tokens read from the weights',
      columns,
      rows: cells,
      widths: columns.map(() => 60),
    }),
    alt:
      `A table of the ${spectra.length} output directions read, each with its ` +
      `word class, training count, the effective rank of its interaction ` +
      `matrix, its counts of positive and negative eigenvalues, the tokens its ` +
      `top eigenvector aligns with, the tokens that alone most raise it ` +
      `through the MLP, and the share of its top contexts at positions shared with most other tokens; ` +
      `each token has a page of its own.`,
    data: asJson({
      directions: spectra.map(({ direction }) => direction),
      sharedContexts: {
        rule: 'a held-out position is shared when it is among the top contexts of at least `threshold` directions',
        threshold: specificity.threshold,
        positions: specificity.shared.map((s) => ({
          window: s.context.window,
          position: s.context.position,
          directions: s.directions,
        })),
        sharedShare: specificity.sharedShare.map(round7),
      },
    }),
    table: {
      columns: ['slug', 'token', 'class', 'count', 'effective_rank', 'positive', 'negative'],
      rows: spectra.map(({ direction: r }) => [
        r.slug,
        r.title,
        r.wordClass,
        r.count,
        round7(r.effectiveRank),
        r.positive,
        r.negative,
      ]),
    },
    pages,
  };
}

export const languageSpectra = defineFigure<{ readings: ReadingsMeta }, Record<string, never>>({
  name: 'language-spectra',
  module: import.meta.url,
  title: () => 'Spectra of the output tokens',
  caption: () =>
    [
      "The eigenvalues of each chosen token's Q_u, sorted from the most positive to the most negative and",
      'divided by the largest |λ|, one panel per token (its word class beneath), positive eigenvalues',
      `in ${SIGNS.positive.name} and negative in ${SIGNS.negative.name}: how many directions each output`,
      'spreads over, and on which sign.',
    ].join(' '),
  render: (inputs) => renderSpectra(inputs),
});

export const languageTokenList = defineFigure<
  { readings: ReadingsMeta; curves?: CurvesMeta },
  {
    choice: OutputChoice;
    /** Present for a model with RMSNorm: the layer read and the model's layers. */
    normalized?: { layer: number; layers: number };
  }
>({
  name: 'language-output-tokens',
  module: import.meta.url,
  title: () => 'Output tokens read from the weights',
  caption: ({ choice, normalized }) =>
    [
      normalized
        ? `For each chosen output token t, the share of t's logit that the MLP of layer ${normalized.layer} ` +
          `(of ${normalized.layers}) writes is xᵀ Q_u x up to one positive scale per position (the final ` +
          "RMSNorm's 1 / rms), with x the normalised stream the MLP reads and u = W_Uᵀ e_t (the final " +
          'gain folded in);'
        : "For each chosen output token t, the MLP's share of t's logit is exactly xᵀ Q_u x with u = W_Uᵀ e_t;",
      'the table gives the effective rank of Q_u and what its top eigenvector and the tokens alone say.',
      `Tokens are chosen by text: the ${choice.perClass} most frequent training-split words of each of four`,
      'word classes (nouns, verbs, adjectives, function words; the lists are in',
      'pipeline/analysis/output-tokens.ts), always',
      `${choice.required.map((w) => `"${w}"`).join(', ')}, and`,
      `${choice.differences.map((w) => `"${w}" minus the mean of the other verbs`).join(', ')}.`,
      "The last column is the share of the token's top held-out contexts (over the eigenvectors read) at",
      'positions that are among the top contexts of at least half the tokens: a reading mostly made of',
      'shared positions says little about its token. Each token has a page of its own, at an address made',
      'from its text.',
    ].join(' '),
  render: (inputs) => renderTokenList(inputs),
});
