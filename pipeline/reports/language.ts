/**
 * The language report (paper §5), part 1: the models. A one-layer transformer whose MLP is
 * bilinear, trained on the story corpus in a vocabulary of its most frequent token types, and its
 * SwiGLU twin (the same shape, data order, steps and seed, the gated MLP at β = 1), so that the
 * report states what the bilinear form costs in held-out loss.
 *
 * Following the paper: no normalisation anywhere (so a token's logit is exactly linear in the
 * residual stream and uᵀ MLP(x) = xᵀ Q_u x), latent noise 0.33 on the MLP input while training
 * (both MLP forms: the twin differs in the MLP only), untied embeddings, rotary positions, AdamW
 * with warm-up and cosine decay.
 */
import type { Deps } from '../cache/job.ts';
import { vocabularyWindowsJob, type VocabularyWindowsMeta } from '../corpus/vocabulary.ts';
import { readLlamaConfig } from '../data/llama-checkpoint.ts';
import { readRange } from '../data/llama-files.ts';
import { readLlamaTokenizer } from '../data/llama-tokenizer.ts';
import { figure } from '../figures/job.ts';
import {
  languageContinuations,
  languageHeldOut,
  languageLossComparison,
  languageLossCurves,
  languageModels,
  languageVocabulary,
  tokensSeen,
} from '../figures/language.ts';
import { parameterCount } from '../models/kind.ts';
import { llama, type LlamaShape } from '../models/llama.ts';
import type { ProfileName } from '../profiles.ts';
import { nextToken } from '../tasks/next-token.ts';
import { trainJob, type ModelMeta } from '../train/job.ts';
import type { TrainSettings } from '../train/trainer.ts';
import {
  numberMetric,
  withInterval,
  type FigurePlan,
  type Metric,
  type PlanContext,
  type ReadArtifact,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';
import { mean, tInterval } from '../analysis/stats.ts';
import { corpusFor } from './stories.ts';
import { curveMetrics, readingMetrics, truncationMetrics } from './reading-metrics.ts';
import { continuationsJob } from '../analysis/continuations.ts';
import { languageReadingsJob, type ReadingSettings } from '../analysis/language-readings.ts';
import { languageSpectra, languageTokenList } from '../figures/token-readings.ts';
import { languageCurvesJob, type CurveSettings } from '../analysis/language-curves.ts';
import { languageExplainedCurves, languageTruncatedLoss } from '../figures/explained-curves.ts';
import { languageTruncationJob, type TruncationSettings } from '../analysis/language-truncation.ts';

interface LanguageProfile {
  /** Tokens in the model vocabulary (the paper's 4,096); at most the training types + 1. */
  vocabulary: number;
  shape: Omit<LlamaShape, 'vocab'>;
  train: TrainSettings;
  /** Seeds of each model (the first is the one published and sampled from). */
  seeds: number[];
  /** Also train the bilinear model with two layers (its losses are reported). */
  twoLayers: boolean;
  /** What the MLP of the published bilinear model is read for, and how much of each reading is shown. */
  readings: ReadingSettings;
  /** How much of each direction's activation the top-k eigenvectors explain, against random and PCA bases. */
  curves: Omit<CurveSettings, 'choice'>;
  /** Held-out loss with the MLP replaced by k-direction readings for every token at once. */
  truncation: TruncationSettings;
}

/**
 * Truncated-loss k values; the first validation windows (every token's Q_t is decomposed, so a few windows).
 */
const TRUNCATION = { ks: [1, 2, 4, 8, 16, 32, 64], seed: 23 };

/** The later paper's k = 1 … 64, 10 random draws per direction, the top 10% as "large activations". */
const CURVES = { maxK: 64, draws: 10, topShare: 0.1, seed: 17 };

/**
 * The readings' rule: 3 words per class (2 in smoke), always "girl" (the paper's Table 1), one verb
 * against the others: "jump", since the paper's "swim" is not among the sampled corpus's 2,048 most
 * frequent types (stories15M rarely writes it).
 */
const READINGS = { eigenvectors: 3, tokens: 8, contexts: 4, span: 12 };

const SHAPE = {
  tiedEmbeddings: false,
  mlp: 'bilinear' as const,
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
  norm: 'none' as const,
};
const TRAIN = { lr: 1e-3, weightDecay: 0.1, warmupFraction: 0.05, latentNoise: 0.33, monitor: 256 };

export const LANGUAGE_PROFILES: Record<ProfileName, LanguageProfile> = {
  // Seconds: a tiny model on the smoke corpus, every stage exercised.
  smoke: {
    vocabulary: 128,
    shape: { ...SHAPE, dim: 32, hidden: 64, layers: 1, heads: 2, kvHeads: 2, context: 32 },
    train: { ...TRAIN, lr: 1e-2, epochs: 8, batchSize: 8, evaluateEvery: 16, seed: 0 },
    seeds: [0, 1],
    twoLayers: false,
    readings: {
      ...READINGS,
      choice: { perClass: 2, required: ['girl'], differences: ['play'] },
      windows: 64,
    },
    curves: { ...CURVES, draws: 3, windows: 64, trainWindows: 64 },
    truncation: { ...TRUNCATION, windows: 4, trainWindows: 64 },
  },
  // Sized to the build budget (measured side by side, one BLAS thread, a training step of batch
  // 32 × 128 tokens: d 128 ran 16,000 tokens/s, d 192 10,000, d 256 7,000): d 128 lets both
  // forms train the paper's 5 epochs with 2 seeds each in minutes on 2 workers. A vocabulary of
  // 2,048 rather than 4,096: the corpus's ~550,000 training tokens hold only about 4,000 types, and
  // those past the 2,048th occur a handful of times each, too few to train their rows.
  default: {
    vocabulary: 2048,
    shape: { ...SHAPE, dim: 128, hidden: 512, layers: 1, heads: 4, kvHeads: 4, context: 128 },
    train: { ...TRAIN, lr: 3e-3, epochs: 5, batchSize: 32, evaluateEvery: 100, seed: 0 },
    seeds: [0, 1],
    twoLayers: false,
    readings: {
      ...READINGS,
      choice: { perClass: 3, required: ['girl'], differences: ['jump'] },
      windows: 400,
    },
    curves: { ...CURVES, windows: 200, trainWindows: 200 },
    truncation: { ...TRUNCATION, windows: 8, trainWindows: 200 },
  },
  // The authors' model (their language/train.py): d 1024, hidden 3072, 8 heads, vocabulary 4,096,
  // AdamW lr 1e-3, weight decay 1, batch 128, 5 epochs; and a two-layer variant. Hours on a large machine.
  paper: {
    vocabulary: 4096,
    shape: { ...SHAPE, dim: 1024, hidden: 3072, layers: 1, heads: 8, kvHeads: 8, context: 256 },
    train: { ...TRAIN, weightDecay: 1, epochs: 5, batchSize: 128, evaluateEvery: 500, seed: 0 },
    seeds: [0, 1],
    twoLayers: true,
    readings: {
      ...READINGS,
      choice: { perClass: 5, required: ['girl'], differences: ['jump'] },
      windows: 2000,
    },
    curves: { ...CURVES, windows: 1000, trainWindows: 1000 },
    truncation: { ...TRUNCATION, windows: 32, trainWindows: 1000 },
  },
};

/** Fixed prompts continued by every model (story openings in the corpus's style). */
export const PROMPTS = [
  'Once upon a time, there was a little girl named',
  'Tom and his dog went to the park. They',
  'The sun was hot, so the children',
];

function plan(ctx: PlanContext): ReportPlan {
  const jobs = planJobs(ctx);
  const { p, published, runs, windows, readings, curves, truncation } = jobs;
  return {
    settings: {
      corpus: "the stories report's corpus",
      vocabulary: {
        size: p.vocabulary,
        rule: VOCABULARY_RULE,
      },
      model: { kind: llama.name, ...p.shape, vocab: p.vocabulary },
      twin: 'the same shape with the gated MLP Swish_1(W1 x) ⊙ W3 x (SwiGLU)',
      training: { ...p.train },
      seeds: p.seeds,
      continuations: { prompts: PROMPTS, ...jobs.sampling },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    models: published.map((r) => ({
      id: r.id,
      description: `${r.label}: ${llama.describe(r.shape)}`,
      job: r.job,
    })),
    analyses: [
      { id: 'windows', job: windows },
      { id: 'readings', job: readings },
      { id: 'explained-curves', job: curves },
      { id: 'truncated-loss', job: truncation },
      ...runs.flatMap((r) => r.jobs.slice(1).map((job, i) => ({ id: runKey(p, r.id, i + 1), job }))),
    ],
    figures: figuresOf(jobs),
    metrics: (read) => modelMetrics(read, jobs),
  };
}

/** How the vocabulary is chosen, as the settings say it. */
const VOCABULARY_RULE =
  "<unk>, BOS, then the training split's most frequent other token types (ties: lower Llama id); " +
  'every other type becomes <unk>';

/** Run i of a model is its seed p.seeds[i]; the first is published, the others are analyses. */
const runKey = (p: LanguageProfile, key: string, i: number) => (i === 0 ? key : `${key}-seed-${p.seeds[i]}`);

type LanguageJobs = ReturnType<typeof planJobs>;

/** Every job of the report: the windows, each form's run per seed, the analyses, the prompts. */
function planJobs(ctx: PlanContext) {
  const { job: stories, files } = corpusFor(ctx);
  const p = LANGUAGE_PROFILES[ctx.profile];
  const windows = vocabularyWindowsJob('language/windows', stories, {
    context: p.shape.context,
    size: p.vocabulary,
    tokenizer: files.tokenizer,
    setting: `the ${ctx.profile} profile's language vocabulary (pipeline/reports/language.ts)`,
  });
  const shape = (over: Partial<LlamaShape> = {}): LlamaShape => ({
    ...p.shape,
    vocab: p.vocabulary,
    ...over,
  });
  const forms = [
    { key: 'bilinear', id: 'bilinear', label: 'bilinear MLP', shape: shape() },
    { key: 'swiglu', id: 'swiglu', label: 'SwiGLU MLP (twin)', shape: shape({ mlp: 'gated', beta: 1 }) },
    ...(p.twoLayers
      ? [
          {
            key: 'twoLayers',
            id: 'bilinear-two-layers',
            label: 'bilinear MLP, two layers',
            shape: shape({ layers: 2 }),
          },
        ]
      : []),
  ];
  const runs = forms.map((f) => ({
    ...f,
    jobs: p.seeds.map((seed, i) =>
      trainJob(
        `language/${runKey(p, f.id, i)}`,
        windows,
        { kind: llama, shape: f.shape },
        nextToken,
        { ...p.train, seed },
        ctx.backend,
      ),
    ),
  }));
  const published = runs.map((r) => ({ ...r, job: r.jobs[0]! }));
  const deps = {
    windows,
    ...Object.fromEntries(runs.flatMap((r) => r.jobs.map((job, i) => [runKey(p, r.key, i), job]))),
  } as Deps<Record<string, ModelMeta | VocabularyWindowsMeta>>;
  const list = { models: published.map(({ key, label }) => ({ key, label })) };
  const readings = languageReadingsJob('language/readings', published[0]!.job, windows, p.readings);
  const truncation = languageTruncationJob(
    'language/truncated-loss',
    published[0]!.job,
    windows,
    p.truncation,
  );
  const curves = languageCurvesJob('language/explained-curves', published[0]!.job, windows, {
    ...p.curves,
    choice: p.readings.choice,
  });
  const seedList = {
    models: runs.map(({ key, label }) => ({
      key,
      label,
      runs: p.seeds.map((seed, i) => ({ seed, key: runKey(p, key, i) })),
    })),
  };
  const { vocab } = readLlamaConfig(
    readRange({ ...files.checkpoint, end: Math.min(files.checkpoint.end, files.checkpoint.start + 28) }),
    files.checkpoint.name,
  );
  const tokenizer = readLlamaTokenizer(readRange(files.tokenizer), vocab, files.tokenizer.name);
  const prompts = PROMPTS.map((text) => ({ text, llama: tokenizer.encode(text, { bos: true }) }));
  // At most 40 new tokens, fewer when the longest prompt and 40 would not fit in the context.
  const sampling = {
    maxTokens: Math.min(40, p.shape.context - Math.max(...prompts.map((q) => q.llama.length))),
    temperature: 1,
    topP: 0.9,
    seed: 11,
  };
  // The published run of each form continues the prompts; the other seeds are not sampled.
  const sampled = { windows, ...Object.fromEntries(published.map((r) => [r.key, r.job])) };
  const continuations = continuationsJob('language/continuations', sampled, {
    ...list,
    prompts,
    ...sampling,
  });
  return {
    p,
    windows,
    runs,
    published,
    deps,
    list,
    seedList,
    readings,
    truncation,
    curves,
    continuations,
    prompts,
    sampling,
  };
}

function figuresOf(jobs: LanguageJobs): FigurePlan[] {
  const { p, deps, list, seedList, readings, curves, truncation, windows, continuations } = jobs;
  return [
    figure('language', 'models', languageModels, deps, list),
    figure('language', 'training-curves', languageLossCurves, deps, {
      ...list,
      evaluateEvery: p.train.evaluateEvery,
      monitor: p.train.monitor,
    }),
    figure('language', 'loss-comparison', languageLossComparison, deps, seedList),
    figure(
      'language',
      'continuations',
      languageContinuations,
      { continuations },
      {
        ...list,
        prompts: jobs.prompts,
        ...jobs.sampling,
      },
    ),
    figure(
      'language',
      'output-tokens',
      languageTokenList,
      { readings, curves },
      {
        choice: p.readings.choice,
      },
    ),
    figure('language', 'output-spectra', languageSpectra, { readings }, {}),
    figure(
      'language',
      'explained-by-k',
      languageExplainedCurves,
      { curves },
      {
        maxK: Math.min(p.curves.maxK, p.shape.dim),
        draws: p.curves.draws,
        topShare: p.curves.topShare,
      },
    ),
    figure(
      'language',
      'truncated-loss',
      languageTruncatedLoss,
      { truncation },
      {
        vocabulary: p.vocabulary,
        windows: p.truncation.windows,
      },
    ),
    figure('language', 'vocabulary', languageVocabulary, { windows }, {}),
    figure('language', 'held-out-windows', languageHeldOut, { windows }, {}),
  ];
}

/** Headline numbers of the vocabulary, the models and their comparison, and of every analysis. */
function modelMetrics(read: ReadArtifact, jobs: LanguageJobs): Record<string, Metric> {
  const { p, windows, runs, published, readings, curves, truncation } = jobs;
  const w = read(windows).meta;
  const out: Record<string, Metric> = {
    'vocabulary-size': numberMetric('tokens in the model vocabulary', w.vocabulary.size, 0),
    'types-seen': numberMetric('token types in the training split', w.vocabulary.typesSeen, 0),
    'unknown-test': {
      label: 'test tokens outside the vocabulary',
      value: w.vocabulary.unknown.test,
      format: 'percent',
      digits: 2,
    },
    'train-windows': numberMetric('training windows', w.windows.train, 0),
    context: numberMetric('context (tokens per window)', w.context, 0),
  };
  const loss = (m: ModelMeta, split: 'validation' | 'test') => m.final[split]['loss']!;
  for (const r of published) {
    const m = read(r.job).meta;
    out[`${r.id}-validation-loss`] = numberMetric(
      `validation loss of the ${r.label} model (cross-entropy per token)`,
      loss(m, 'validation'),
      4,
    );
    out[`${r.id}-test-loss`] = numberMetric(`test loss of the ${r.label} model`, loss(m, 'test'), 4);
    out[`${r.id}-parameters`] = numberMetric(
      `parameters of the ${r.label} model`,
      parameterCount(llama, r.shape),
      0,
    );
    out[`${r.id}-tokens-seen`] = numberMetric(
      `training tokens read by the ${r.label} model`,
      tokensSeen(m, w),
      0,
    );
  }
  // What the bilinear form costs: per seed, the paired difference (the same seed for both forms),
  // and its mean over seeds. With two seeds, both values are published, not an interval.
  const [bilinear, swiglu] = [runs[0]!, runs[1]!];
  const costs = p.seeds.map((seed, i) => {
    const [b, g] = [loss(read(bilinear.jobs[i]!).meta, 'test'), loss(read(swiglu.jobs[i]!).meta, 'test')];
    out[`cost-test-seed-${seed}`] = numberMetric(
      `test loss of the bilinear model minus its SwiGLU twin, seed ${seed}`,
      b - g,
      4,
    );
    return { difference: b - g, relative: b / g - 1 };
  });
  for (const r of runs)
    out[`${r.id}-test-loss-mean`] = numberMetric(
      `test loss of the ${r.label} model, mean over ${p.seeds.length} seed(s)`,
      mean(r.jobs.map((j) => loss(read(j).meta, 'test'))),
      4,
    );
  out['cost-test'] =
    costs.length > 1
      ? withInterval(
          numberMetric(
            `test loss of the bilinear model minus its SwiGLU twin, mean over ${p.seeds.length} seeds`,
            mean(costs.map((c) => c.difference)),
            4,
          ),
          tInterval(costs.map((c) => c.difference)),
          'seeds',
        )
      : numberMetric(
          `test loss of the bilinear model minus its SwiGLU twin (one seed)`,
          costs[0]!.difference,
          4,
        );
  out['cost-test-relative'] = {
    label:
      `the bilinear model's test loss relative to its SwiGLU twin's, minus 1 ` +
      `(mean over ${p.seeds.length} seed(s))`,
    value: mean(costs.map((c) => c.relative)),
    format: 'percent',
    digits: 1,
  };
  out['seeds'] = numberMetric('seeds per model', p.seeds.length, 0);
  Object.assign(
    out,
    readingMetrics(read(readings)),
    curveMetrics(read(curves).meta),
    truncationMetrics(read(truncation).meta),
  );
  return out;
}

export const languageReport: ReportSpec = {
  id: 'language',
  title: 'Language: a bilinear transformer trained on stories',
  summary:
    'A one-layer transformer with a bilinear MLP and no normalisation, ' +
    'trained on the story corpus, beside its SwiGLU twin: what the bilinear ' +
    'form costs in held-out loss, and what the MLP computes for chosen ' +
    'output tokens, read from its weights.',
  plan,
};
