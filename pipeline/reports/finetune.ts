/**
 * The finetune report (paper §6): the pretrained stories15M, whose MLPs are SwiGLU, finetuned
 * into a bilinear model by annealing its gate Swish_β(z) = z σ(β z) from β = 1 (SiLU) to β = 0
 * (z/2: the MLP bilinear), against controls that separate "finetuned on our corpus" from "became
 * bilinear":
 *
 *   original          the checkpoint as published, β = 1
 *   original at β = 0 the same weights made bilinear without finetuning
 *   control           the same finetuning (data, order, steps, optimiser) with β held at 1
 *   finetune          β annealed to 0, then finetuned at 0: the bilinear model
 *
 * All on the story corpus's held-out windows in the checkpoint's own vocabulary. The MLPs train
 * (their matrices and norm gains; attention, embeddings and the final norm are held), with
 * next-token cross-entropy; no learnable gate scale (a per-unit scale c on the gate is exactly
 * absorbed by the rows of W3 at every β, so it adds nothing the model cannot learn).
 */
import { continuationsJob } from '../analysis/continuations.ts';
import { languageCurvesJob, type CurveSettings } from '../analysis/language-curves.ts';
import { languageReadingsJob, type ReadingSettings } from '../analysis/language-readings.ts';
import { languageTruncationJob, type TruncationSettings } from '../analysis/language-truncation.ts';
import { pairedLossDifference } from '../analysis/paired-loss.ts';
import type { Deps, Job } from '../cache/job.ts';
import { vocabularyWindowsJob, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { readLlamaConfig } from '../data/llama-checkpoint.ts';
import { readRange } from '../data/llama-files.ts';
import { readLlamaTokenizer } from '../data/llama-tokenizer.ts';
import {
  AT_BETA_0,
  finetuneContinuations,
  finetuneCurves,
  finetuneSchedule,
  finetuneTable,
  type FinetuneRow,
} from '../figures/finetune.ts';
import { languageExplainedCurves, languageTruncatedLoss } from '../figures/explained-curves.ts';
import { figure } from '../figures/job.ts';
import { languageHeldOut, tokensSeen } from '../figures/language.ts';
import { languageSpectra, languageTokenList } from '../figures/token-readings.ts';
import { llama, llamaShapeOf } from '../models/llama.ts';
import type { ProfileName } from '../profiles.ts';
import { nextToken } from '../tasks/next-token.ts';
import { evaluationJob, type EvaluationMeta } from '../train/evaluation.ts';
import { trainJob, type ModelMeta } from '../train/job.ts';
import { pretrainedJob } from '../train/pretrained.ts';
import { checkSchedule, type ScalarSchedule } from '../train/schedule.ts';
import { PipelineError } from '../errors.ts';
import type { TrainSettings } from '../train/trainer.ts';
import { PROMPTS } from './language.ts';
import {
  numberMetric,
  withInterval,
  type Metric,
  type PlanContext,
  type ReadArtifact,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';
import { curveMetrics, readingMetrics, truncationMetrics } from './reading-metrics.ts';
import { corpusFor } from './stories.ts';

interface FinetuneProfile {
  /** Tokens per training window (at most the checkpoint's context). */
  context: number;
  /** The training settings both runs share; β's schedule is each run's own. */
  train: Omit<TrainSettings, 'schedules' | 'evaluateWith'>;
  /** The finetune's β: from 1 to 0, then 0 to the end. */
  beta: ScalarSchedule;
  /** New tokens of each continuation at most. */
  continuation: number;
  /** The finetuned model's MLPs read from its weights: which layers ('last', or all of them). */
  readLayers: 'last' | 'all';
  readings: ReadingSettings;
  curves: Omit<CurveSettings, 'choice'>;
  /** The truncated loss of the last layer's MLP. */
  truncation: TruncationSettings;
}

/**
 * The authors' optimiser (their finetuning.py): AdamW, lr 1e-4, weight decay 0.1, a short
 * warm-up; their anneal min(u e^{k − k u}, 1) with k = 1.05, here over the first half of the steps
 * so that the second half recovers at β = 0. In PyTorch, lr 3e-4 without warm-up damaged the
 * model before β moved (1.38 nats at β = 0.74, against 0.82 for the original).
 */
/*
 * The MLPs alone train ('mlp'), in both runs. Measured on the default profile, the same 252 steps
 * from the same windows: the finetune of the MLPs alone held a lower validation loss than the one of
 * every parameter at each of its six evaluations (0.977, 1.114, 1.081, 1.035, 1.015, 1.010 nats
 * against 1.024, 1.163, 1.129, 1.065, 1.037, 1.029), at a cheaper step (no gradient is kept for
 * the attention and embeddings). Only the MLPs change form, and attention and embeddings stay the
 * original's, so the readings read a model whose other parts are the original stories15M's.
 *
 * Next-token loss, not distillation (TrainSettings.distill: the KL divergence from the original,
 * frozen at β = 1). Measured on the default profile, the same 252 steps of the MLPs alone: at lr
 * 1e-4 distillation wrecked the model (validation 4.23 nats at the first evaluation, 4.72 at the
 * end: the divergence is near 0 while β is near 1, and Adam's first steps, about lr per weight,
 * raise it to 5 nats in one step, in PyTorch too); at 3e-5 it ended at 1.019 (test 1.014) and at
 * 1e-5 at 1.221, against 1.010 (test 1.009) for next-token loss at 1e-4; and its step took 2.5 s
 * against 1.0 s (the original's forward pass and a divergence over 32,000 logits per position).
 */
const TRAIN = {
  lr: 1e-4,
  weightDecay: 0.1,
  warmupFraction: 0.1,
  latentNoise: 0,
  trains: 'mlp',
  seed: 0,
};
const ANNEAL: ScalarSchedule = { kind: 'alpha-decay', from: 1, to: 0, k: 1.05, end: 0.5 };

/**
 * The language report's reading rule and sizes, so that its pages and these compare ("jump"
 * against the other verbs: the Llama vocabulary has no single token for the paper's "swim"). Token lists
 * name only tokens the training split holds at least 20 times (about as many types as the
 * language report's 2,048-token vocabulary): the rest of the 32,000 rows were shaped by
 * pretraining on text these stories do not show.
 */
const READINGS = { eigenvectors: 3, tokens: 8, contexts: 4, span: 12, minCount: 20 };
const CURVES = { maxK: 64, draws: 10, topShare: 0.1, seed: 17 };

/**
 * The language report's k values; every token the training split holds is truncated (3,690 types
 * at default sizes, each Q_t decomposed: about 40 ms a token), the rest of the 32,000 keep their
 * exact logit.
 */
const TRUNCATION = { ks: [1, 2, 4, 8, 16, 32, 64], minCount: 1, seed: 23 };

export const FINETUNE_PROFILES: Record<ProfileName, FinetuneProfile> = {
  // Seconds: a few steps on the smoke corpus's few stories, every stage exercised.
  smoke: {
    context: 32,
    train: { ...TRAIN, epochs: 0.5, batchSize: 4, evaluateEvery: 4, monitor: 8, finalTrain: 'sample' },
    beta: ANNEAL,
    continuation: 12,
    readLayers: 'last',
    readings: {
      ...READINGS,
      choice: { perClass: 2, required: ['girl'], differences: ['jump'] },
      windows: 16,
    },
    curves: { ...CURVES, maxK: 16, draws: 3, windows: 16, trainWindows: 16 },
    // the tokens of the smoke stories seen 8 times or more (73): a few seconds
    truncation: { ...TRUNCATION, ks: [1, 8, 64], minCount: 8, windows: 4, trainWindows: 16 },
  },
  // Sized to the build budget: half a pass over the corpus's ~515,000 training tokens in batches
  // of 4 × 256, as the authors finetuned on half an epoch: 252 steps. A step took 1.25 to 1.3 s
  // alone on one thread. A first run of a whole pass, the two runs side by side on the two workers
  // (the machine also running tests), took 36 minutes each, 38% of it evaluating every 50 steps
  // and the whole training split at the end; a whole pass put the cold build past its budget.
  default: {
    context: 256,
    train: { ...TRAIN, epochs: 0.5, batchSize: 4, evaluateEvery: 42, monitor: 16, finalTrain: 'sample' },
    beta: ANNEAL,
    continuation: 40,
    readLayers: 'last',
    readings: {
      ...READINGS,
      choice: { perClass: 3, required: ['girl'], differences: ['jump'] },
      windows: 64,
    },
    curves: { ...CURVES, windows: 32, trainWindows: 64 },
    truncation: { ...TRUNCATION, windows: 8, trainWindows: 64 },
  },
  paper: {
    context: 256,
    train: { ...TRAIN, epochs: 3, batchSize: 8, evaluateEvery: 100, monitor: 64, finalTrain: 'sample' },
    beta: ANNEAL,
    continuation: 60,
    readLayers: 'all',
    readings: {
      ...READINGS,
      choice: { perClass: 5, required: ['girl'], differences: ['jump'] },
      windows: 400,
    },
    curves: { ...CURVES, windows: 200, trainWindows: 400 },
    truncation: { ...TRUNCATION, windows: 16, trainWindows: 400 },
  },
};

/**
 * Refuses a β schedule that does not end at exactly 0 by the last step: the report publishes
 * the model it ends with as bilinear, which it is only at β = 0.
 */
export function checkAnneal(beta: ScalarSchedule, setting: string): void {
  checkSchedule('beta', beta);
  const ends =
    beta.kind === 'constant'
      ? beta.value
      : beta.kind === 'linear' || beta.kind === 'alpha-decay'
        ? beta.to
        : Number.NaN;
  if (ends !== 0)
    throw new PipelineError(
      `${setting}: the β schedule (${beta.kind}) must end at β = 0, so that the finetuned MLP is ` +
        `bilinear; it ends at ${Number.isNaN(ends) ? 'no fixed value' : ends}`,
      {
        exitCode: 2,
        hint: "use a linear or alpha-decay schedule with 'to: 0' (its 'end' ≤ 1 is reached by the last step)",
      },
    );
}

type FinetuneJobs = ReturnType<typeof planJobs>;

/** Every job of the report: the windows, the checkpoint, both runs, the evaluations, the stories. */
function planJobs(ctx: PlanContext) {
  const { job: stories, files } = corpusFor(ctx);
  const p = FINETUNE_PROFILES[ctx.profile];
  checkAnneal(p.beta, `the ${ctx.profile} profile's finetune (pipeline/reports/finetune.ts)`);
  const config = readLlamaConfig(
    readRange({ ...files.checkpoint, end: Math.min(files.checkpoint.end, files.checkpoint.start + 28) }),
    files.checkpoint.name,
  );
  if (config.mlp !== 'gated')
    throw new PipelineError(
      `finetune: the checkpoint ${files.checkpoint.name} has bilinear MLPs already (a negative ` +
        'hidden_dim); the report anneals a gated MLP to bilinear',
      {
        exitCode: 2,
        hint: 'pass a checkpoint with SwiGLU MLPs as --llama-checkpoint, as llama2.c exports them',
      },
    );
  const shape = llamaShapeOf(config);
  // the checkpoint as tables and prose name it: "stories15M", or a given file's name
  const name = files.model.replace(/\.bin$/, '');
  if (p.context > shape.context)
    throw new PipelineError(
      `finetune: the ${ctx.profile} profile's context of ${p.context} tokens exceeds the checkpoint's ${shape.context}`,
      { exitCode: 2, hint: `use a context of at most ${shape.context} (pipeline/reports/finetune.ts)` },
    );
  // the checkpoint's own vocabulary, ids unchanged, with each id's text for the readings
  const windows = vocabularyWindowsJob('finetune/windows', stories, {
    context: p.context,
    size: 'tokenizer',
    tokenizer: files.tokenizer,
    setting: 'the finetune vocabulary',
  });
  const pretrained = pretrainedJob('finetune/pretrained', files.checkpoint);
  // The run's shape is the model it ends as: β is the schedule's last value, so the published
  // weights, their description and anything that samples them read the gate at that β (the
  // schedule sets β at every training step and evaluation).
  // The finetune ends at β = 0 and is kept in its plainly bilinear form (W2 halved: the same
  // function exactly), so its published weights and everything read from them are what they say.
  const run = (id: string, beta: ScalarSchedule, ends: number) =>
    trainJob(
      `finetune/${id}`,
      windows,
      { kind: llama, shape: { ...shape, beta: ends } },
      nextToken,
      { ...p.train, schedules: { beta }, evaluateWith: { [AT_BETA_0]: { beta: 0 } } },
      ctx.backend,
      { init: pretrained, bilinearForm: ends === 0 },
    );
  const finetune = run('bilinear', p.beta, 0);
  const control = run('control', { kind: 'constant', value: 1 }, 1);
  const evaluate = (id: string, model: Job<ModelMeta> | typeof pretrained, beta: number) =>
    evaluationJob(`finetune/evaluation-${id}`, model, windows, llama, nextToken, { beta });
  const evaluations = {
    original: evaluate('original', pretrained, 1),
    originalBilinear: evaluate('original-beta-0', pretrained, 0),
    control: evaluate('control', control, 1),
    controlBilinear: evaluate('control-beta-0', control, 0),
    finetune: evaluate('bilinear', finetune, 0),
  };
  // Each row: its evaluation, the run it read (null: none), and how prose names it.
  const rows: (FinetuneRow & { key: keyof typeof evaluations; noun: string })[] = [
    { key: 'original', label: `original (${name})`, noun: `the original ${name}`, run: null },
    {
      key: 'originalBilinear',
      label: 'original, β set to 0',
      noun: 'the original read at β = 0, not finetuned',
      run: null,
    },
    {
      key: 'control',
      label: 'control: finetuned at β = 1',
      noun: 'the control (finetuned at β = 1)',
      run: 'controlRun',
    },
    {
      key: 'controlBilinear',
      label: 'control, β set to 0 after',
      noun: 'the control read at β = 0',
      run: 'controlRun',
    },
    {
      key: 'finetune',
      label: 'finetune: β annealed to 0',
      noun: 'the finetune (β annealed to 0)',
      run: 'finetuneRun',
    },
  ].map((r) => ({ ...r, key: r.key as keyof typeof evaluations, evaluation: r.key }));
  const tokenizer = readLlamaTokenizer(readRange(files.tokenizer), config.vocab, files.tokenizer.name);
  const prompts = PROMPTS.map((text) => ({ text, llama: tokenizer.encode(text, { bos: true }) }));
  const sampling = {
    maxTokens: Math.min(p.continuation, p.context - Math.max(...prompts.map((q) => q.llama.length))),
    temperature: 1,
    topP: 0.9,
    seed: 11,
  };
  const continuationModels = [
    { key: 'original', label: 'original (β = 1)' },
    { key: 'original', label: 'original, β set to 0', scalars: { beta: 0 } },
    { key: 'control', label: 'control (β = 1)' },
    { key: 'finetune', label: 'finetune (β = 0)' },
  ];
  const continuations = continuationsJob(
    'finetune/continuations',
    { original: pretrained, control, finetune },
    { models: continuationModels, prompts, ...sampling },
    { range: files.tokenizer, vocab: config.vocab },
  );
  // the finetuned MLPs read from the weights: the last layer's under its plain ids, earlier ones
  // (the paper profile) under ids naming their layer
  const last = shape.layers - 1;
  const readLayers = p.readLayers === 'last' ? [last] : Array.from({ length: shape.layers }, (_, l) => l);
  const reads = readLayers.map((layer) => {
    const suffix = layer === last ? '' : `-layer-${layer}`;
    return {
      layer,
      suffix,
      readings: languageReadingsJob(`finetune/readings${suffix}`, finetune, windows, p.readings, layer),
      curves: languageCurvesJob(
        `finetune/explained-curves${suffix}`,
        finetune,
        windows,
        { ...p.curves, choice: p.readings.choice },
        layer,
      ),
    };
  });
  // the truncated loss replaces the last layer's MLP, which no later layer reads
  const truncation = languageTruncationJob('finetune/truncated-loss', finetune, windows, p.truncation, last);
  const runs = [
    {
      key: 'finetuneRun',
      label: 'finetune (β annealed)',
      entity: 'bilinear' as const,
      beta: p.beta,
      job: finetune,
    },
    {
      key: 'controlRun',
      label: 'control (β held at 1)',
      entity: 'swiglu' as const,
      beta: { kind: 'constant', value: 1 } as ScalarSchedule,
      job: control,
    },
  ];
  const deps = {
    windows,
    ...evaluations,
    finetuneRun: finetune,
    controlRun: control,
  } as Deps<Record<string, EvaluationMeta | ModelMeta | VocabularyWindowsMeta>>;
  return {
    p,
    name,
    shape,
    files,
    windows,
    pretrained,
    finetune,
    control,
    evaluations,
    rows,
    runs,
    deps,
    continuations,
    prompts,
    sampling,
    continuationModels,
    reads,
    truncation,
  };
}

function plan(ctx: PlanContext): ReportPlan {
  const jobs = planJobs(ctx);
  const { p, shape, files, runs, deps } = jobs;
  const runDeps = {
    windows: deps['windows']!,
    finetuneRun: deps['finetuneRun']!,
    controlRun: deps['controlRun']!,
  };
  return {
    settings: {
      corpus: "the stories report's corpus, in the checkpoint's own 32,000-token vocabulary",
      checkpoint: files.checkpoint.name,
      model: { kind: llama.name, ...shape },
      context: p.context,
      training: {
        ...p.train,
        task: p.train.distill
          ? "KL divergence from the original model's next-token distribution (the original frozen, at β = 1)"
          : 'next-token cross-entropy',
        parameters: "the MLPs' matrices and norm gains (attention, embeddings and the final norm held)",
      },
      beta: { finetune: { ...p.beta }, control: { kind: 'constant', value: 1 } },
      gateScale: 'none (absorbed exactly by the rows of W3)',
      continuations: { prompts: PROMPTS, ...jobs.sampling },
      readings: { layers: jobs.reads.map((r) => r.layer), ...p.readings, choice: { ...p.readings.choice } },
      curves: { ...p.curves },
      truncation: { layer: shape.layers - 1, ...p.truncation },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    models: [
      {
        id: 'bilinear',
        description:
          `${jobs.name} finetuned into a bilinear model (β annealed to 0), its MLPs written plainly ` +
          `bilinear: ${llama.describe({ ...shape, mlp: 'bilinear' })}`,
        job: jobs.finetune,
        checkpoint: true,
      },
    ],
    analyses: [
      { id: 'windows', job: jobs.windows },
      { id: 'pretrained', job: jobs.pretrained },
      { id: 'finetune-run', job: jobs.finetune },
      { id: 'control-run', job: jobs.control },
      ...Object.entries(jobs.evaluations).map(([id, job]) => ({ id: `evaluation-${kebab(id)}`, job })),
      { id: 'continuations', job: jobs.continuations },
      ...jobs.reads.flatMap((r) => [
        { id: `readings${r.suffix}`, job: r.readings },
        { id: `explained-curves${r.suffix}`, job: r.curves },
      ]),
      { id: 'truncated-loss', job: jobs.truncation },
    ],
    figures: [
      figure('finetune', 'models', finetuneTable, deps, {
        rows: jobs.rows.map(({ label, evaluation, run }) => ({ label, evaluation, run })),
      }),
      figure('finetune', 'loss-curves', finetuneCurves, deps, {
        runs: runs.map(({ key, label, entity }) => ({ key, label, entity })),
        original: { evaluation: 'original', bilinear: 'originalBilinear', label: 'original model' },
        evaluateEvery: p.train.evaluateEvery!,
      }),
      figure('finetune', 'beta-schedule', finetuneSchedule, runDeps, {
        runs: runs.map(({ key, label, entity, beta }) => ({ key, label, entity, beta })),
      }),
      figure(
        'finetune',
        'continuations',
        finetuneContinuations,
        { continuations: jobs.continuations },
        {
          models: jobs.continuationModels,
          prompts: jobs.prompts,
          ...jobs.sampling,
        },
      ),
      // every held-out window in the checkpoint's ids: what the published model is scored on
      figure('finetune', 'held-out-windows', languageHeldOut, { windows: jobs.windows }, {}),
      ...jobs.reads.flatMap(({ layer, suffix, readings, curves }) => [
        figure(
          'finetune',
          `output-tokens${suffix}`,
          languageTokenList,
          { readings, curves },
          {
            choice: p.readings.choice,
            normalized: { layer, layers: shape.layers },
          },
        ),
        figure('finetune', `output-spectra${suffix}`, languageSpectra, { readings }, {}),
        figure(
          'finetune',
          `explained-by-k${suffix}`,
          languageExplainedCurves,
          { curves },
          {
            maxK: Math.min(p.curves.maxK, shape.dim),
            draws: p.curves.draws,
            topShare: p.curves.topShare,
          },
        ),
      ]),
      figure(
        'finetune',
        'truncated-loss',
        languageTruncatedLoss,
        { truncation: jobs.truncation },
        {
          vocabulary: shape.vocab,
          windows: p.truncation.windows,
          normalized: { layer: shape.layers - 1, layers: shape.layers, minCount: p.truncation.minCount ?? 1 },
        },
      ),
    ],
    metrics: (read) => finetuneMetrics(read, jobs),
  };
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every model's held-out losses, the gap the finetune leaves to its control, and the tokens seen. */
function finetuneMetrics(read: ReadArtifact, jobs: FinetuneJobs): Record<string, Metric> {
  const w = read(jobs.windows).meta;
  const { shape } = jobs;
  const out: Record<string, Metric> = {
    // the checkpoint, for prose: its name (as text) and its sizes
    checkpoint: { ...numberMetric('the finetuned checkpoint (its layers)', shape.layers), text: jobs.name },
    'model-layers': numberMetric("the checkpoint's layers", shape.layers),
    'model-last-layer': numberMetric('the index of its last layer (from 0)', shape.layers - 1),
    'model-dim': numberMetric("the checkpoint's residual width", shape.dim),
    'model-hidden': numberMetric("the checkpoint's MLP width", shape.hidden),
    'model-vocab': numberMetric("the checkpoint's vocabulary", shape.vocab),
    context: numberMetric('tokens per training window', w.context),
    'train-windows': numberMetric('training windows', w.windows.train),
    'validation-tokens': numberMetric('validation tokens', w.windows.validation * w.context),
    'test-tokens': numberMetric('test tokens', w.windows.test * w.context),
  };
  const test: Record<string, number> = {};
  for (const r of jobs.rows) {
    const e = read(jobs.evaluations[r.key]).meta;
    test[r.key] = e.test['loss']!;
    out[`${kebab(r.key)}-test-loss`] = numberMetric(`test loss of ${r.noun}`, e.test['loss']!, 3);
    out[`${kebab(r.key)}-validation-loss`] = numberMetric(
      `validation loss of ${r.noun}`,
      e.validation['loss']!,
      3,
    );
  }
  const finetune = read(jobs.finetune).meta;
  out['tokens-seen'] = numberMetric('training tokens each run read', tokensSeen(finetune, w));
  out['passes'] = numberMetric('passes over the training windows', finetune.settings.epochs, 1);
  out['steps'] = numberMetric('training steps of each run', finetune.steps);
  // Each difference paired window by window on the test split, with its t interval over windows.
  const paired = (
    a: keyof FinetuneJobs['evaluations'],
    b: keyof FinetuneJobs['evaluations'],
    label: string,
  ) =>
    withInterval(
      numberMetric(label, test[a]! - test[b]!, 3),
      pairedLossDifference(read(jobs.evaluations[a]), read(jobs.evaluations[b]), 'test'),
      'test windows',
    );
  out['gap'] = paired(
    'finetune',
    'control',
    'test loss of the finetune minus its control (finetuned at β = 1)',
  );
  out['gap-original'] = paired(
    'finetune',
    'original',
    `test loss of the finetune minus the original ${jobs.name}`,
  );
  out['control-cost'] = paired(
    'control',
    'original',
    `test loss of the control (finetuned at β = 1) minus the original ${jobs.name}`,
  );
  out['cost-of-no-finetune'] = paired(
    'originalBilinear',
    'original',
    'test loss of the original at β = 0 minus the original',
  );
  // the last layer's readings, for prose
  const lastRead = jobs.reads.find((r) => r.suffix === '')!;
  Object.assign(
    out,
    readingMetrics(read(lastRead.readings)),
    curveMetrics(read(lastRead.curves).meta),
    truncationMetrics(read(jobs.truncation).meta),
  );
  return out;
}

export const finetuneReport: ReportSpec = {
  id: 'finetune',
  title: 'Finetune: stories15M made bilinear',
  summary:
    'The pretrained stories15M, whose MLPs are SwiGLU, finetuned into a bilinear model by annealing ' +
    "its gate's β from 1 to 0, against the same finetuning at β = 1 and the original read at β = 0.",
  plan,
};
