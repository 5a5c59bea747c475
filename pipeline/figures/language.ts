/**
 * The language report's figures (part 1: the models): what each model cost and reached, the
 * held-out loss of the bilinear model against its SwiGLU twin over training, continuations of
 * fixed prompts from each, the vocabulary and its coverage, and the held-out windows as data, so
 * that a reader can recompute the held-out loss from the downloads alone.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asJson } from '../cache/artifact.ts';
import {
  asContinuations,
  type ContinuationSettings,
  type ContinuationsMeta,
} from '../analysis/continuations.ts';
import type { Inputs } from '../cache/job.ts';
import { asVocabularyWindows, decodeCompact, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { tokenSplitsOf } from '../data/tokens.ts';
import { modelKind, parameterCount } from '../models/kind.ts';
import { asModel, type ModelMeta } from '../train/job.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { PALETTE, type Entity } from './palette.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';
import { escapeXml, svgDocument, wrapText } from './svg.ts';
import { tableFigure } from './table.ts';

/** Blocks of text under bold headings, wrapped, as one SVG (continuations, windows). */
function textBlocks(title: string, blocks: { heading: string; text: string }[]): string {
  const body: string[] = [];
  let y = 26;
  for (const b of blocks) {
    body.push(`<text x="12" y="${y}" font-size="12" font-weight="bold">${escapeXml(b.heading)}</text>`);
    y += 18;
    for (const line of wrapText(b.text, 816)) {
      body.push(`<text x="12" y="${y}" font-size="12" xml:space="preserve">${escapeXml(line)}</text>`);
      y += 16;
    }
    y += 10;
  }
  return svgDocument(840, y, title, body);
}

export type ModelList = { models: { key: string; label: string }[] };

/** Each model form's entity in the site's palette, by its key in the report's plan. */
const MODEL_ENTITIES: Record<string, Entity> = {
  bilinear: 'bilinear',
  swiglu: 'swiglu',
  twoLayers: 'bilinearTwoLayers',
};

/** A colour scale that gives every model its palette colour, the same on every figure. */
export function modelColourScale(models: { key: string; label: string }[]) {
  return {
    domain: models.map((m) => m.label),
    range: models.map((m) => {
      const entity = MODEL_ENTITIES[m.key];
      if (!entity)
        throw new Error(`model '${m.key}' has no colour: add it to MODEL_ENTITIES (figures/language.ts)`);
      return PALETTE[entity].hex;
    }),
  };
}
type ModelInputs = Record<string, ModelMeta | VocabularyWindowsMeta>;

/** Training tokens a run read: every position of every training window it read. */
export function tokensSeen(meta: ModelMeta, windows: { context: number }): number {
  return meta.examples * windows.context;
}

function models(inputs: Inputs<ModelInputs>, params: ModelList) {
  return params.models.map(({ key, label }) => ({ key, label, model: asModel(inputs[key], label) }));
}

// ---- the models table ----

export function modelRows(inputs: Inputs<ModelInputs>, params: ModelList) {
  const windows = asVocabularyWindows(inputs['windows']).meta;
  return models(inputs, params).map(({ label, model }) => {
    const m = model.meta;
    const seen = tokensSeen(m, windows);
    return {
      model: label,
      parameters: parameterCount(modelKind(m.model.kind), m.model.shape),
      tokensSeen: seen,
      steps: m.steps,
      validationLoss: round7(m.final.validation['loss']!),
      testLoss: round7(m.final.test['loss']!),
      testAccuracy: round7(m.final.test['accuracy']!),
    };
  });
}

async function renderModels(inputs: Inputs<ModelInputs>, params: ModelList): Promise<FigureOutput> {
  const rows = modelRows(inputs, params);
  // Timings are not drawn: figures are byte-identical across builds, and times are not.
  const columns = [
    'model',
    'parameters',
    'tokens seen',
    'steps',
    'validation loss',
    'test loss',
    'test accuracy',
  ];
  const cells = rows.map((r) => [
    r.model,
    r.parameters.toLocaleString('en-US'),
    r.tokensSeen.toLocaleString('en-US'),
    String(r.steps),
    r.validationLoss.toFixed(4),
    r.testLoss.toFixed(4),
    `${(r.testAccuracy * 100).toFixed(1)}%`,
  ]);
  return {
    ...tableFigure({
      title: 'The models: size, training and held-out cross-entropy per token',
      columns,
      rows: cells,
      widths: [230, 100, 110, 60, 110, 80, 100],
    }),
    alt:
      `Table of the models: ` +
      rows
        .map(
          (r) =>
            `${r.model}, ${r.parameters} parameters, ${r.tokensSeen} tokens seen, ` +
            `validation loss ${r.validationLoss.toFixed(4)}, test loss ${r.testLoss.toFixed(4)}`,
        )
        .join('; ') +
      '.',
    data: asJson({ rows }),
    table: {
      columns: [
        'model',
        'parameters',
        'tokens_seen',
        'steps',
        'validation_loss',
        'test_loss',
        'test_accuracy',
      ],
      rows: rows.map((r) => [
        r.model,
        r.parameters,
        r.tokensSeen,
        r.steps,
        r.validationLoss,
        r.testLoss,
        r.testAccuracy,
      ]),
    },
  };
}

export const languageModels = defineFigure<ModelInputs, ModelList>({
  name: 'language-models',
  module: import.meta.url,
  title: () => 'The models',
  caption: () =>
    "Each model's parameters, the training tokens it read, its training steps, and its cross-entropy per " +
    'token and next-token accuracy on the held-out splits after the last step.',
  render: renderModels,
});

// ---- loss over training, both models ----

async function renderLossCurves(inputs: Inputs<ModelInputs>, params: ModelList): Promise<FigureOutput> {
  const windows = asVocabularyWindows(inputs['windows']).meta;
  const perStep = (m: ModelMeta) => windows.context * m.settings.batchSize;
  const rows = models(inputs, params).flatMap(({ label, model }) =>
    model.meta.history.flatMap((h) =>
      (['train', 'validation'] as const).map((split) => ({
        model: label,
        split,
        step: h.step,
        tokens: Math.min(h.step * perStep(model.meta), tokensSeen(model.meta, windows)),
        loss: round7(h[split]['loss']!),
      })),
    ),
  );
  const finals = models(inputs, params).map(({ label, model }) => ({
    model: label,
    validation: round7(model.meta.final.validation['loss']!),
    test: round7(model.meta.final.test['loss']!),
  }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Cross-entropy per token over training, of each MLP form, on the ' +
      'training sample and the validation split',
    data: { values: rows },
    width: 460,
    height: 260,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'tokens', type: 'quantitative', title: 'training tokens seen' },
      y: { field: 'loss', type: 'quantitative', title: 'cross-entropy per token', scale: { zero: false } },
      color: {
        field: 'model',
        type: 'nominal',
        title: null,
        scale: modelColourScale(params.models),
        legend: { orient: 'bottom', labelLimit: 400 },
      },
      strokeDash: {
        field: 'split',
        type: 'nominal',
        title: null,
        scale: {
          domain: ['validation', 'train'],
          range: [
            [1, 0],
            [4, 3],
          ],
        },
        legend: { orient: 'bottom' },
      },
      tooltip: [
        { field: 'model' },
        { field: 'split' },
        { field: 'step' },
        { field: 'tokens' },
        { field: 'loss', format: '.4f' },
      ],
    },
    config: CHART_CONFIG,
  };
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Line chart of cross-entropy per token against training tokens seen for ` +
      `${params.models.map((m) => m.label).join(' and ')}, on the training ` +
      `sample (dashed) and the validation split (solid); final validation losses ` +
      `${finals.map((f) => `${f.model} ${f.validation.toFixed(4)}`).join(', ')}.`,
    data: asJson({ rows, final: finals }),
    table: {
      columns: ['model', 'split', 'step', 'tokens', 'loss'],
      rows: rows.map((r) => [r.model, r.split, r.step, r.tokens, r.loss]),
    },
  };
}

/** The models, and how often training was evaluated and on how many training windows. */
type CurveList = ModelList & { evaluateEvery: number; monitor: number };

export const languageLossCurves = defineFigure<ModelInputs, CurveList>({
  name: 'language-loss-curves',
  module: import.meta.url,
  title: () => 'Training curves',
  caption: (p) =>
    [
      `Cross-entropy per token over training, every ${p.evaluateEvery} steps and at each epoch's end: on a`,
      `fixed sample of ${p.monitor} training windows (dashed) and on the whole validation split (solid),`,
      'without noise. The test split is evaluated once, after the last step.',
    ].join(' '),
  render: renderLossCurves,
});

// ---- the held-out loss compared ----

/** Every run of each model (one per seed; the first is the published one). */
export type SeedList = { models: { key: string; label: string; runs: { seed: number; key: string }[] }[] };

/** Each run's final held-out losses, and each model's mean over its seeds. */
export function lossRows(inputs: Inputs<ModelInputs>, params: SeedList) {
  const runs = params.models.flatMap(({ label, runs }) =>
    runs.flatMap(({ seed, key }) => {
      const m = asModel(inputs[key], `${label}, seed ${seed}`).meta;
      return (['validation', 'test'] as const).map((split) => ({
        model: label,
        seed,
        split,
        loss: round7(m.final[split]['loss']!),
      }));
    }),
  );
  const means = params.models.flatMap(({ label }) =>
    (['validation', 'test'] as const).map((split) => {
      const of = runs.filter((r) => r.model === label && r.split === split).map((r) => r.loss);
      return {
        model: label,
        split,
        seeds: of.length,
        mean: round7(of.reduce((a, b) => a + b, 0) / of.length),
      };
    }),
  );
  return { runs, means };
}

/** The reference every other model is paired with, seed by seed. */
const TWIN = 'swiglu';

/**
 * Each model's held-out loss minus its SwiGLU twin's, seed by seed (the same seed sets the
 * initialisation, the data order and the noise of both forms, so the pair is the unit).
 */
export function pairedDifferences(inputs: Inputs<ModelInputs>, params: SeedList) {
  const { runs } = lossRows(inputs, params);
  const twin = params.models.find((m) => m.key === TWIN);
  if (!twin) throw new Error(`the loss comparison needs the '${TWIN}' model to pair the others with`);
  const lossOf = (model: string, seed: number, split: string) =>
    runs.find((r) => r.model === model && r.seed === seed && r.split === split)!.loss;
  return params.models
    .filter((m) => m.key !== TWIN)
    .flatMap((m) =>
      m.runs.flatMap(({ seed }) =>
        (['validation', 'test'] as const).map((split) => {
          const loss = lossOf(m.label, seed, split);
          const twinLoss = lossOf(twin.label, seed, split);
          return {
            model: m.label,
            seed: String(seed),
            split,
            loss,
            twin: twinLoss,
            difference: round7(loss - twinLoss),
          };
        }),
      ),
    );
}

/** The axis spans at least this share of the mean loss each side of 0, so a difference looks its size. */
const LOSS_SHARE_SHOWN = 0.01;

async function renderLossComparison(inputs: Inputs<ModelInputs>, params: SeedList): Promise<FigureOutput> {
  const { runs, means } = lossRows(inputs, params);
  const pairs = pairedDifferences(inputs, params);
  const meanLoss = runs.reduce((s, r) => s + r.loss, 0) / runs.length;
  const reach = Math.max(LOSS_SHARE_SHOWN * meanLoss, ...pairs.map((p) => Math.abs(p.difference) * 1.15));
  const others = params.models.filter((m) => m.key !== TWIN);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Held-out loss of each model minus its SwiGLU twin, one point per seed, on an axis of ±1% of the loss',
    facet: { column: { field: 'split', type: 'nominal', title: null, sort: ['validation', 'test'] } },
    data: { values: pairs },
    spec: {
      width: 200,
      height: 220,
      layer: [
        { mark: { type: 'rule', color: '#444', strokeDash: [4, 3] }, encoding: { y: { datum: 0 } } },
        {
          mark: { type: 'point', filled: true, size: 80, opacity: 0.9 },
          encoding: {
            x: { field: 'seed', type: 'nominal', title: 'seed', axis: { labelAngle: 0 } },
            y: {
              field: 'difference',
              type: 'quantitative',
              title: 'bilinear − SwiGLU (nats per token)',
              scale: { domain: [-reach, reach] },
            },
            color: {
              field: 'model',
              type: 'nominal',
              title: null,
              scale: modelColourScale(others),
              legend: others.length > 1 ? { orient: 'bottom', labelLimit: 300 } : null,
            },
            tooltip: [
              { field: 'model' },
              { field: 'seed' },
              { field: 'split' },
              { field: 'loss', format: '.4f' },
              { field: 'twin', title: 'SwiGLU twin', format: '.4f' },
              { field: 'difference', format: '+.4f' },
            ],
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
      `Held-out cross-entropy of each model minus its SwiGLU twin's, per seed: ` +
      `${pairs.map((p) => `${p.model} seed ${p.seed} ${p.split} ${p.difference >= 0 ? '+' : ''}${p.difference.toFixed(4)}`).join(', ')}; ` +
      `the axis spans ±${reach.toFixed(3)} nats, at least 1% of the mean loss ${meanLoss.toFixed(3)}.`,
    data: asJson({ pairs, runs, means }),
    table: {
      columns: ['model', 'seed', 'split', 'loss', 'swiglu_twin_loss', 'difference'],
      rows: pairs.map((p) => [p.model, p.seed, p.split, p.loss, p.twin, p.difference]),
    },
  };
}

export const languageLossComparison = defineFigure<ModelInputs, SeedList>({
  name: 'language-loss-comparison',
  module: import.meta.url,
  title: () => 'Bilinear against SwiGLU, seed by seed',
  caption: (p) =>
    [
      'Cross-entropy per token on the validation and test splits after the last step: the bilinear model',
      'minus its SwiGLU twin trained from the same seed (same shape, data order, steps and latent noise; only',
      `the MLP differs), one point per seed (${p.models[0]!.runs.map((r) => r.seed).join(', ')}). Below the`,
      'dashed line the bilinear model is better. The axis spans at least ±1% of the mean loss, so a',
      'difference looks as large as it is; the models table gives the losses themselves.',
    ].join(' '),
  render: renderLossComparison,
});

// ---- continuations of fixed prompts ----

export async function renderContinuations(
  inputs: Inputs<{ continuations: ContinuationsMeta }>,
  params: ContinuationSettings,
): Promise<FigureOutput> {
  const { rows } = asContinuations(inputs.continuations).meta;
  const settings = { ...params, models: params.models.map((m) => m.label) };
  return {
    kind: 'chart',
    svg: textBlocks(
      'Continuations of fixed prompts',
      rows.map((r) => ({
        heading: `${r.model}, ${r.decoding}`,
        text: `${r.prompt} ⟶${r.continuation}${r.finished ? '' : ' …'}`,
      })),
    ),
    alt: [
      `Each model's greedy and sampled continuations of ${params.prompts.length} fixed prompts:`,
      rows.map((r) => `${r.model} (${r.decoding}): “${r.prompt}${r.continuation}”`).join(' '),
    ].join(' '),
    data: asJson({ settings, rows }),
    table: {
      columns: ['model', 'prompt', 'decoding', 'continuation', 'ended_by_itself'],
      rows: rows.map((r) => [r.model, r.prompt, r.decoding, r.continuation, r.finished ? 'yes' : 'no']),
    },
  };
}

/** The caption of a continuations figure; `more` adds to its list of marks. */
export function continuationsCaption(p: ContinuationSettings, more = ''): string {
  return [
    `Each model's continuation of the same ${p.prompts.length} prompts, greedy and sampled (temperature`,
    `${p.temperature}, top-p ${p.topP}, seed ${p.seed}), at most ${p.maxTokens} tokens; "…" marks a`,
    `continuation cut at that limit${more}.`,
  ].join(' ');
}

export const languageContinuations = defineFigure<{ continuations: ContinuationsMeta }, ContinuationSettings>(
  {
    name: 'language-continuations',
    module: import.meta.url,
    title: () => 'Continuations of fixed prompts',
    caption: (p) => continuationsCaption(p, ', "<unk>" a token outside the vocabulary'),
    render: renderContinuations,
  },
);

// ---- the vocabulary ----

async function renderVocabulary(inputs: Inputs<{ windows: VocabularyWindowsMeta }>): Promise<FigureOutput> {
  const { vocabulary } = asVocabularyWindows(inputs.windows).meta;
  const show = (t: string) => JSON.stringify(t);
  const top = Array.from({ length: Math.min(24, vocabulary.size - 2) }, (_, i) => i + 2);
  const summary: string[][] = [
    [
      'tokens in the vocabulary',
      `${vocabulary.size} (<unk>, BOS and the ${vocabulary.size - 2} most frequent other training types)`,
    ],
    ['token types in the training split', String(vocabulary.typesSeen)],
    ...(['train', 'validation', 'test'] as const).map((s) => [
      `${s} tokens that are <unk>`,
      `${(vocabulary.unknown[s] * 100).toFixed(3)}%`,
    ]),
    [
      'most frequent tokens',
      top
        .slice(0, 12)
        .map((c) => show(vocabulary.texts[c]!))
        .join(' '),
    ],
    [
      '',
      top
        .slice(12)
        .map((c) => show(vocabulary.texts[c]!))
        .join(' '),
    ],
    [
      'least frequent kept',
      Array.from({ length: 6 }, (_, i) => vocabulary.size - 6 + i)
        .filter((c) => c >= 2)
        .map((c) => `${show(vocabulary.texts[c]!)} ×${vocabulary.trainCounts[c]}`)
        .join('  '),
    ],
  ];
  return {
    ...tableFigure({
      title: 'The vocabulary and its coverage',
      columns: ['property', 'value'],
      rows: summary,
      widths: [280, 700],
    }),
    alt:
      `The model vocabulary: ${vocabulary.size} tokens of ` +
      `${vocabulary.typesSeen} training types; <unk> is ` +
      `${(vocabulary.unknown.validation * 100).toFixed(3)}% of validation and ` +
      `${(vocabulary.unknown.test * 100).toFixed(3)}% of test tokens. The data ` +
      `file lists every token.`,
    data: asJson({
      size: vocabulary.size,
      typesSeen: vocabulary.typesSeen,
      unknown: vocabulary.unknown,
      tokenizer: vocabulary.tokenizer,
    }),
    table: {
      columns: ['id', 'llama_id', 'text', 'train_count'],
      rows: vocabulary.texts.map((t, c) => [c, vocabulary.llama[c]!, t, vocabulary.trainCounts[c]!]),
    },
  };
}

export const languageVocabulary = defineFigure<{ windows: VocabularyWindowsMeta }, Record<string, never>>({
  name: 'language-vocabulary',
  module: import.meta.url,
  title: () => 'The vocabulary',
  caption: () =>
    [
      "The model vocabulary, chosen from the training split alone, and the share of each split's tokens",
      'outside it (<unk>). The data file lists every token: its id, its Llama id, its text and its training',
      'count.',
    ].join(' '),
  render: renderVocabulary,
});

// ---- the held-out windows ----

async function renderHeldOut(inputs: Inputs<{ windows: VocabularyWindowsMeta }>): Promise<FigureOutput> {
  const windows = asVocabularyWindows(inputs.windows);
  const splits = tokenSplitsOf(windows);
  const T = windows.meta.context;
  const rows: [string, number, string][] = [];
  for (const split of ['validation', 'test'] as const) {
    const set = splits[split];
    for (let w = 0; w < set.n; w++)
      rows.push([split, w, Array.from(set.tokens.subarray(w * (T + 1), (w + 1) * (T + 1))).join(' ')]);
  }
  return {
    kind: 'chart',
    svg: textBlocks(
      'Held-out windows',
      rows
        .filter((r) => r[1] < 2)
        .map(([split, w, ids]) => ({
          heading: `${split} window ${w}`,
          text: decodeCompact(windows.meta.vocabulary, ids.split(' ').map(Number)),
        })),
    ),
    alt:
      `The ${splits.validation.n} validation and ${splits.test.n} test windows ` +
      `of ${T} + 1 token ids (the vocabulary's) the held-out losses are over; the first ` +
      `two of each, decoded, are shown. The data file lists every window.`,
    data: asJson({
      context: T,
      windows: { validation: splits.validation.n, test: splits.test.n },
    }),
    table: { columns: ['split', 'window', 'ids'], rows },
  };
}

export const languageHeldOut = defineFigure<{ windows: VocabularyWindowsMeta }, Record<string, never>>({
  name: 'language-held-out',
  module: import.meta.url,
  title: () => 'Held-out windows',
  caption: () =>
    [
      "The validation and test windows the held-out losses are over, in the vocabulary's ids: each model",
      'reads the first T ids of a window and is scored on predicting each next one. With the weights and the',
      'vocabulary, the data file is all a reader needs to recompute the held-out loss.',
    ].join(' '),
  render: renderHeldOut,
});
