/**
 * The corpus card as figures: the card itself (size per split, vocabulary, how it was made), how
 * much of the training text the most frequent token types cover (the number a smaller model
 * vocabulary is chosen by), and sample stories as text.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asJson, requireTensor } from '../cache/artifact.ts';
import type { Inputs } from '../cache/job.ts';
import type { CorpusCard, CorpusMeta } from '../corpus/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';
import { escapeXml, svgDocument, wrapText } from './svg.ts';
import { tableFigure } from './table.ts';

const int = (n: number) => n.toLocaleString('en-US');
const percent = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
/** The vocabulary size of the paper's language models, marked on the coverage curve. */
const PAPER_VOCABULARY = 4096;

/** The card's rows: what a reader needs to judge the corpus, each a (property, value) pair. */
export function cardRows(card: CorpusCard): [string, string][] {
  const settings = card.settings as {
    source: {
      kind: string;
      stories?: number;
      batch?: number;
      shardBatches?: number;
      limit?: number | null;
      sampling?: Record<string, number>;
    };
    split: { heldOut: number; seed: number };
    backend?: { name: string; detail: string } | null;
  };
  const rows: [string, string][] = [
    ['source', card.source],
    [
      'stories (train / validation / test)',
      `${int(card.stories.train)} / ${int(card.stories.validation)} / ${int(card.stories.test)}`,
    ],
    [
      'tokens (train / validation / test)',
      `${int(card.tokens.train)} / ${int(card.tokens.validation)} / ${int(card.tokens.test)}`,
    ],
    ['mean tokens per story (with its BOS)', card.meanTokensPerStory.toFixed(1)],
  ];
  const s = settings.source;
  if (s.kind === 'sampled') {
    const p = s.sampling!;
    rows.push([
      'sampling',
      `${int(s.stories!)} sequences from BOS, temperature ${p['temperature']}, ` +
        `top-p ${p['topP']}, at most ${p['maxTokens']} tokens, seed ${p['seed']}, ${s.batch} at a time`,
    ]);
    if (s.shardBatches)
      rows.push([
        'shards',
        `${int(s.stories! / (s.batch! * s.shardBatches))} of ` +
          `${int(s.batch! * s.shardBatches)} sequences; batch b sampled with seed ` +
          `${p['seed']} + 104,729 b`,
      ]);
    rows.push(['dropped (reached the token limit)', `${int(card.unfinished ?? 0)}`]);
    if (settings.backend) rows.push(['sampled on', `${settings.backend.name} (${settings.backend.detail})`]);
  } else {
    rows.push([
      'stories read',
      s.limit === null || s.limit === undefined ? 'all' : `the first ${int(s.limit)}`,
    ]);
  }
  rows.push([
    'split',
    `by story, seeded (seed ${settings.split.seed}); ` +
      `${percent(settings.split.heldOut, 0)} held out, halved into validation and test`,
  ]);
  rows.push([
    'token types in the training split',
    `${int(card.vocabulary.seenInTrain)} of ${int(card.vocabulary.size)}`,
  ]);
  for (const c of card.vocabulary.coverage)
    rows.push([`training tokens covered by the top ${int(c.top)} types`, percent(c.share, 2)]);
  rows.push(['held-out tokens of a type unseen in training', percent(card.vocabulary.heldOutUnseen, 3)]);
  return rows;
}

export async function renderCorpusCard(meta: CorpusMeta): Promise<FigureOutput> {
  const rows = cardRows(meta.card);
  return {
    ...tableFigure({ title: 'Corpus card', columns: ['property', 'value'], rows, widths: [330, 640] }),
    alt: `The corpus card: ${rows.map(([k, v]) => `${k}: ${v}`).join('; ')}.`,
    data: { card: asJson(meta.card) },
    table: { columns: ['property', 'value'], rows },
  };
}

/**
 * Share of the training tokens covered by the N most frequent types, at N = 1, 2, 4, … and the whole
 * vocabulary.
 */
export function coverageCurve(stream: Int32Array, vocab: number): { types: number; share: number }[] {
  const counts = new Float64Array(vocab);
  for (const t of stream) counts[t]!++;
  const sorted = Array.from(counts).sort((a, b) => b - a);
  const points: { types: number; share: number }[] = [];
  let covered = 0;
  let next = 1;
  sorted.forEach((c, i) => {
    covered += c;
    if (i + 1 === next || i + 1 === vocab) {
      points.push({ types: i + 1, share: round7(covered / stream.length) });
      next *= 2;
    }
  });
  return points;
}

async function renderCoverage(inputs: Inputs<{ stories: CorpusMeta }>): Promise<FigureOutput> {
  const stories = inputs.stories;
  const stream = requireTensor(stories, 'train.stream', 'stories').data as Int32Array;
  const rows = coverageCurve(stream, stories.meta.vocabSize);
  const at4096 = rows.find((r) => r.types === PAPER_VOCABULARY);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Share of training tokens covered by the most frequent token types',
    data: { values: rows },
    width: 420,
    height: 240,
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'types',
            type: 'quantitative',
            scale: { type: 'log', base: 2 },
            title: 'most frequent token types kept (log scale)',
          },
          y: {
            field: 'share',
            type: 'quantitative',
            title: 'share of training tokens covered',
            axis: { format: '%' },
            scale: { domain: [0, 1] },
          },
          tooltip: [{ field: 'types' }, { field: 'share', format: '.2%' }],
        },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        data: { values: [{ types: PAPER_VOCABULARY }] },
        encoding: { x: { field: 'types', type: 'quantitative' } },
      },
    ],
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `A line chart of the share of ${int(stream.length)} training tokens ` +
      `covered by the most frequent token types, from 1 to all ` +
      int(stories.meta.vocabSize) +
      (at4096 ? `; the top ${int(PAPER_VOCABULARY)} (dashed line) cover ${percent(at4096.share, 2)}` : '') +
      '.',
    data: { tokens: stream.length, rows },
    table: { columns: ['types', 'share'], rows: rows.map((r) => [r.types, r.share]) },
  };
}

async function renderSamples(meta: CorpusMeta): Promise<FigureOutput> {
  const lineH = 17;
  const body: string[] = [];
  let y = 28;
  meta.card.samples.forEach((story, i) => {
    body.push(`<text x="12" y="${y}" font-size="12" font-weight="bold">Validation story ${i + 1}</text>`);
    y += lineH + 2;
    for (const line of wrapText(story, 736)) {
      body.push(`<text x="12" y="${y}" font-size="12" xml:space="preserve">${escapeXml(line)}</text>`);
      y += lineH;
    }
    y += lineH;
  });
  return {
    kind: 'text',
    svg: svgDocument(760, y, 'Sample stories', body),
    // On the site each story is its own passage, with the model's line breaks as paragraphs.
    html: {
      passages: meta.card.samples.map((story) =>
        story
          .split('\n')
          .map((p) => p.trim())
          .filter((p) => p !== ''),
      ),
    },
    alt:
      `${meta.card.samples.length} stories of the validation split, as text: ` +
      `${meta.card.samples.map((s, i) => `story ${i + 1}: “${s.replace(/\s*\n\s*/g, ' ')}”`).join('; ')}.`,
    data: { stories: meta.card.samples },
    table: { columns: ['story', 'text'], rows: meta.card.samples.map((s, i) => [i + 1, s]) },
  };
}

export const corpusCardFigure = defineFigure<{ stories: CorpusMeta }, Record<string, never>>({
  name: 'corpus-card',
  module: import.meta.url,
  title: () => 'Corpus card',
  caption: () =>
    'Size of each split in stories and tokens, how much of the vocabulary the stories use, and the exact ' +
    'settings that made them.',
  render: (inputs) => renderCorpusCard(inputs.stories.meta),
});

export const corpusCoverage = defineFigure<{ stories: CorpusMeta }, Record<string, never>>({
  name: 'corpus-coverage',
  module: import.meta.url,
  title: () => 'Vocabulary coverage',
  caption: () =>
    'A few thousand token types cover almost all of the training text: the share of training tokens ' +
    `covered by the N most frequent types (the dashed line marks ${int(PAPER_VOCABULARY)}, the vocabulary ` +
    "size of the paper's language models).",
  render: (inputs) => renderCoverage(inputs),
});

export const corpusSamples = defineFigure<{ stories: CorpusMeta }, Record<string, never>>({
  name: 'corpus-samples',
  module: import.meta.url,
  title: () => 'Sample stories',
  caption: () => 'The first stories of the validation split, as text (decoded from their tokens).',
  render: (inputs) => renderSamples(inputs.stories.meta),
});
