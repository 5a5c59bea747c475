/**
 * The finetune report's figures: every model's held-out loss with the tokens it read (the
 * original, the original read at β = 0, the control finetuned at β = 1, the finetune), the
 * validation loss over training of both runs at the β of the moment and at β = 0, the β
 * schedule itself, and every model's stories for the same prompts.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asJson } from '../cache/artifact.ts';
import type { Inputs } from '../cache/job.ts';
import { asVocabularyWindows, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { asEvaluation, type EvaluationMeta } from '../train/evaluation.ts';
import { asModel, type ModelMeta } from '../train/job.ts';
import { scheduleValue, type ScalarSchedule } from '../train/schedule.ts';
import { CHART_CONFIG, renderChart } from './charts.ts';
import { defineFigure, round7, type FigureOutput } from './job.ts';
import { PALETTE, colourName, type Entity } from './palette.ts';
import { tableFigure } from './table.ts';
import { continuationsCaption, renderContinuations, tokensSeen } from './language.ts';
import type { ContinuationSettings, ContinuationsMeta } from '../analysis/continuations.ts';

/** The name of the runs' evaluation with β forced to 0 (TrainSettings.evaluateWith). */
export const AT_BETA_0 = 'bilinear';

type FinetuneInputs = Record<string, EvaluationMeta | ModelMeta | VocabularyWindowsMeta>;

/** One row of the table: an evaluation, and the training run it read (null: no finetuning). */
export interface FinetuneRow {
  label: string;
  evaluation: string;
  run: string | null;
}

/** The runs by input key, with their labels and colours. */
export interface FinetuneRun {
  key: string;
  label: string;
  entity: Entity;
}

// ---- the table of models ----

export function finetuneRows(inputs: Inputs<FinetuneInputs>, params: { rows: FinetuneRow[] }) {
  const windows = asVocabularyWindows(inputs['windows']).meta;
  return params.rows.map((r) => {
    const e = asEvaluation(inputs[r.evaluation], r.label).meta;
    const run = r.run ? asModel(inputs[r.run], r.label).meta : null;
    return {
      model: r.label,
      beta: e.scalars['beta']!,
      tokensSeen: run ? tokensSeen(run, windows) : 0,
      steps: run?.steps ?? 0,
      validationLoss: round7(e.validation['loss']!),
      testLoss: round7(e.test['loss']!),
      testAccuracy: round7(e.test['accuracy']!),
    };
  });
}

async function renderTable(
  inputs: Inputs<FinetuneInputs>,
  params: { rows: FinetuneRow[] },
): Promise<FigureOutput> {
  const rows = finetuneRows(inputs, params);
  return {
    ...tableFigure({
      title: 'Held-out cross-entropy per token of every model',
      columns: [
        'model',
        'β read',
        'tokens finetuned',
        'steps',
        'validation loss',
        'test loss',
        'test accuracy',
      ],
      rows: rows.map((r) => [
        r.model,
        String(r.beta),
        r.tokensSeen.toLocaleString('en-US'),
        String(r.steps),
        r.validationLoss.toFixed(4),
        r.testLoss.toFixed(4),
        `${(r.testAccuracy * 100).toFixed(1)}%`,
      ]),
      widths: [300, 60, 120, 60, 110, 80, 100],
    }),
    alt:
      'Table of the models: ' +
      rows
        .map(
          (r) =>
            `${r.model}, read at β ${r.beta}, ${r.tokensSeen} tokens finetuned, ` +
            `validation loss ${r.validationLoss.toFixed(4)}, test loss ${r.testLoss.toFixed(4)}`,
        )
        .join('; ') +
      '.',
    data: asJson({ rows }),
    table: {
      columns: [
        'model',
        'beta',
        'tokens_finetuned',
        'steps',
        'validation_loss',
        'test_loss',
        'test_accuracy',
      ],
      rows: rows.map((r) => [
        r.model,
        r.beta,
        r.tokensSeen,
        r.steps,
        r.validationLoss,
        r.testLoss,
        r.testAccuracy,
      ]),
    },
  };
}

export const finetuneTable = defineFigure<FinetuneInputs, { rows: FinetuneRow[] }>({
  name: 'finetune-models',
  module: import.meta.url,
  title: () => 'The models',
  caption: () =>
    'Each model with the β its gate was read at (1: SiLU, the original SwiGLU MLP; 0: bilinear), the ' +
    'training tokens it was finetuned on and its steps, and its cross-entropy per token and next-token ' +
    'accuracy on the held-out stories, the same for every model.',
  render: renderTable,
});

// ---- validation loss over training ----

/** The curves' settings: the runs, the original model's evaluations (flat lines), how often. */
export interface CurveParams {
  runs: FinetuneRun[];
  /**
   * The original model's evaluations: at β = 1 (drawn as a flat line, and where both runs start)
   * and at β = 0 (where both runs start when read at β = 0).
   */
  original: { evaluation: string; bilinear: string; label: string };
  evaluateEvery: number;
}

function curveRows(inputs: Inputs<FinetuneInputs>, params: CurveParams) {
  const windows = asVocabularyWindows(inputs['windows']).meta;
  const start = (evaluation: string) =>
    round7(asEvaluation(inputs[evaluation], params.original.label).meta.validation['loss']!);
  return params.runs.flatMap(({ key, label }) => {
    const m = asModel(inputs[key], label).meta;
    const perStep = m.settings.batchSize * windows.context;
    const cap = tokensSeen(m, windows);
    // Step 0 is the original model, read at β = 1 (where every run starts) and at β = 0.
    const first = [
      { model: label, read: 'β of the moment', step: 0, tokens: 0, loss: start(params.original.evaluation) },
      { model: label, read: 'β forced to 0', step: 0, tokens: 0, loss: start(params.original.bilinear) },
    ];
    return first.concat(
      m.history.flatMap((h) => [
        {
          model: label,
          read: 'β of the moment',
          step: h.step,
          tokens: Math.min(h.step * perStep, cap),
          loss: round7(h.validation['loss']!),
        },
        ...[h.with?.[AT_BETA_0]]
          .filter((metrics) => metrics !== undefined)
          .map((metrics) => ({
            model: label,
            read: 'β forced to 0',
            step: h.step,
            tokens: Math.min(h.step * perStep, cap),
            loss: round7(metrics['loss']!),
          })),
      ]),
    );
  });
}

async function renderCurves(inputs: Inputs<FinetuneInputs>, params: CurveParams): Promise<FigureOutput> {
  const rows = curveRows(inputs, params);
  const original = asEvaluation(inputs[params.original.evaluation], params.original.label).meta;
  const originalLoss = round7(original.validation['loss']!);
  const labels = [...params.runs.map((r) => r.label), params.original.label];
  const hexes = [...params.runs.map((r) => PALETTE[r.entity].hex), PALETTE.pretrained.hex];
  const losses = [...rows.map((r) => r.loss), originalLoss];
  const domain = [Math.min(...losses) * 0.9, Math.max(...losses) * 1.1];
  const colour = {
    field: 'model',
    type: 'nominal' as const,
    title: null,
    scale: { domain: labels, range: hexes },
    legend: { orient: 'bottom' as const, labelLimit: 400, columns: 1 },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Validation cross-entropy per token over finetuning, at the β of the moment and at β = 0',
    width: 460,
    height: 280,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'tokens', type: 'quantitative', title: 'training tokens seen' },
          y: {
            field: 'loss',
            type: 'quantitative',
            title: 'validation cross-entropy per token (log scale)',
            scale: { type: 'log', domain, nice: false },
          },
          color: colour,
          strokeDash: {
            field: 'read',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['β of the moment', 'β forced to 0'],
              range: [
                [1, 0],
                [4, 3],
              ],
            },
            // the caption says which is which: a dash legend beside point marks draws no line
            legend: null,
          },
          tooltip: [
            { field: 'model' },
            { field: 'read' },
            { field: 'step' },
            { field: 'tokens' },
            { field: 'loss', format: '.4f' },
          ],
        },
      },
      {
        data: { values: [{ model: params.original.label, loss: originalLoss }] },
        mark: { type: 'rule', strokeDash: [2, 2] },
        encoding: { y: { field: 'loss', type: 'quantitative' }, color: colour },
      },
    ],
    config: CHART_CONFIG,
  };
  const last = (label: string, read: string) =>
    rows.filter((r) => r.model === label && r.read === read).at(-1);
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      `Line chart, log scale, of validation cross-entropy per token against finetuning tokens: ` +
      params.runs
        .map((r) => {
          const [now, zero] = [last(r.label, 'β of the moment'), last(r.label, 'β forced to 0')];
          return (
            `${r.label} ends at ${now?.loss.toFixed(4)} at the β of the moment` +
            (zero ? ` and ${zero.loss.toFixed(4)} with β forced to 0` : '')
          );
        })
        .join('; ') +
      `; the ${params.original.label} (a flat line) scores ${originalLoss.toFixed(4)}.`,
    data: asJson({ rows, original: { label: params.original.label, validationLoss: originalLoss } }),
    table: {
      columns: ['model', 'beta_read', 'step', 'tokens', 'validation_loss'],
      rows: rows.map((r) => [r.model, r.read, r.step, r.tokens, r.loss]),
    },
  };
}

export const finetuneCurves = defineFigure<FinetuneInputs, CurveParams>({
  name: 'finetune-curves',
  module: import.meta.url,
  title: () => 'Validation loss over finetuning',
  caption: (p) =>
    [
      `Cross-entropy per token on the validation stories every ${p.evaluateEvery} steps from the start, on a log scale:`,
      `each run read with the β its gate had at that step (solid) and with β forced to 0, the bilinear`,
      `model one would get by stopping there (dashed); the ${p.original.label} is the dotted`,
      `${colourName('pretrained')} line. ${p.runs.map((r) => `${r.label}: ${colourName(r.entity)}`).join('; ')}.`,
    ].join(' '),
  render: renderCurves,
});

// ---- the β schedule ----

/** The runs, with the β schedule each was planned with (for the caption; drawn from the runs). */
export interface ScheduleParams {
  runs: (FinetuneRun & { beta: ScalarSchedule })[];
}

async function renderSchedule(inputs: Inputs<FinetuneInputs>, params: ScheduleParams): Promise<FigureOutput> {
  const windows = asVocabularyWindows(inputs['windows']).meta;
  const runs = params.runs.map((r) => {
    const m = asModel(inputs[r.key], r.label).meta;
    const beta = m.settings.schedules?.['beta'];
    if (!beta) throw new Error(`${r.label}: the run has no schedule for β`);
    return { ...r, beta, steps: m.steps, perStep: m.settings.batchSize * windows.context };
  });
  const at = (steps: number) => [
    ...new Set(Array.from({ length: 101 }, (_, i) => Math.round((i * (steps - 1)) / 100))),
  ];
  const rows = runs.flatMap((r) =>
    at(r.steps).map((step) => ({
      model: r.label,
      step,
      tokens: step * r.perStep,
      beta: round7(scheduleValue(r.beta, step, r.steps)),
    })),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: "The gate's β at every training step of each run",
    data: { values: rows },
    width: 460,
    height: 200,
    mark: { type: 'line' },
    encoding: {
      x: { field: 'tokens', type: 'quantitative', title: 'training tokens seen' },
      y: { field: 'beta', type: 'quantitative', title: 'β of the gate Swish_β', scale: { domain: [0, 1] } },
      color: {
        field: 'model',
        type: 'nominal',
        title: null,
        scale: { domain: runs.map((r) => r.label), range: runs.map((r) => PALETTE[r.entity].hex) },
        legend: { orient: 'bottom', labelLimit: 400 },
      },
      tooltip: [{ field: 'model' }, { field: 'step' }, { field: 'tokens' }, { field: 'beta', format: '.4f' }],
    },
    config: CHART_CONFIG,
  };
  // The first step whose β is 0 (runs are a few thousand steps at most).
  const reaches = (r: (typeof runs)[number]) =>
    Array.from({ length: r.steps }, (_, step) => step).find(
      (step) => scheduleValue(r.beta, step, r.steps) === 0,
    );
  return {
    kind: 'chart',
    svg: await renderChart(spec),
    vegaLite: spec,
    alt:
      "Line chart of the gate's β against training tokens: " +
      runs
        .map((r) => {
          const step = reaches(r);
          return step === undefined
            ? `${r.label} stays at ${scheduleValue(r.beta, r.steps - 1, r.steps)} for ${r.steps} steps`
            : `${r.label} reaches β = 0 at step ${step} of ${r.steps} and stays there`;
        })
        .join('; ') +
      '.',
    data: asJson({ runs: runs.map((r) => ({ label: r.label, schedule: r.beta, steps: r.steps })), rows }),
    table: {
      columns: ['model', 'step', 'tokens', 'beta'],
      rows: rows.map((r) => [r.model, r.step, r.tokens, r.beta]),
    },
  };
}

/** How a schedule reads in words, for the caption. */
function scheduleWords(s: ScalarSchedule): string {
  switch (s.kind) {
    case 'constant':
      return `held at ${s.value}`;
    case 'linear':
      return `linear from ${s.from} to ${s.to} between ${s.start * 100}% and ${s.end * 100}% of the steps`;
    case 'alpha-decay':
      return `from ${s.from} to ${s.to} as ${s.from} + (${s.to} − ${s.from}) · min(u e^{k − k u}, 1), k = ${s.k}, u the progress through the first ${s.end * 100}% of the steps`;
    case 'warmup-cosine':
      return `warm-up then cosine`;
  }
}

export const finetuneSchedule = defineFigure<FinetuneInputs, ScheduleParams>({
  name: 'finetune-schedule',
  module: import.meta.url,
  title: () => "The gate's β over training",
  caption: (p) =>
    `The β of each run's gate Swish_β(z) = z σ(β z) at every step: ` +
    p.runs.map((r) => `${r.label} (${colourName(r.entity)}), ${scheduleWords(r.beta)}`).join('; ') +
    '. At β = 1 the gate is SiLU, the original model; at β = 0 it is z/2 and the MLP bilinear.',
  render: renderSchedule,
});

// ---- stories from every model ----

export const finetuneContinuations = defineFigure<{ continuations: ContinuationsMeta }, ContinuationSettings>(
  {
    name: 'finetune-continuations',
    module: import.meta.url,
    title: () => 'Stories from every model',
    caption: (p) => continuationsCaption(p),
    render: renderContinuations,
  },
);
