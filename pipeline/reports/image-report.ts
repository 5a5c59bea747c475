/**
 * The image classification reports (MNIST, Fashion-MNIST): one factory, so both reports show the
 * same figures computed the same way. For each data set, three bilinear classifiers
 * 784 → d → m → c from the same initial weights and data order, one regulariser step apart:
 * none; the paper's recipe (latent noise and decoupled weight decay, §4); the recipe with input
 * noise (the report's model). Their class eigendecompositions and scores, and the HOSVD of the last.
 */
import type { Artifact, Json } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import { classEigen, classEigenJob, hosvdJob, type EigenMeta } from '../decompose/job.ts';
import { idxDataJob, type DataMeta, type OfficialSplitSettings } from '../data/job.ts';
import {
  FASHION_MNIST,
  locateDataset,
  MNIST_IDX,
  verifyDataset,
  type IdxSource,
  type LocatedDataset,
} from '../data/sources.ts';
import { eigenGallery, regularizationComparison } from '../figures/eigen-gallery.ts';
import { hosvdComponents, hosvdSpectrum } from '../figures/hosvd.ts';
import { figure } from '../figures/job.ts';
import { eigenvalueSpectra } from '../figures/spectra.ts';
import { trainingCurves } from '../figures/training-curves.ts';
import { inputExplanations } from '../figures/explanations.ts';
import { perturbationChart } from '../figures/causal.ts';
import { ablationJob, perturbationJob, truncationJob } from '../analysis/job.ts';
import type { TruncationResult } from '../analysis/truncation-study.ts';
import { METRICS, type AblationSettings } from '../analysis/ablation.ts';
import type { PerturbationSettings, SummaryRow } from '../analysis/perturb.ts';
import type { RunScores } from '../analysis/ablation.ts';
import { bilinearClassifier, embedDim, type BilinearShape } from '../models/bilinear-classifier.ts';
import type { ProfileName } from '../profiles.ts';
import { classification } from '../tasks/classification.ts';
import { trainJob, type ModelMeta } from '../train/job.ts';
import { TRAIN_MONITOR, type TrainSettings } from '../train/trainer.ts';
import {
  withInterval,
  type FigurePlan,
  type Metric,
  type PlanContext,
  type ReadArtifact,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';

export interface ImageProfile {
  shape: BilinearShape;
  train: TrainSettings;
}

/** Perturbation check sizes: a small one for smoke builds, the published one otherwise. */
const PERTURBATION: Record<'smoke' | 'full', PerturbationSettings> = {
  smoke: { epsilons: [0, 2, 4], perClass: 5, directions: 2, randomDraws: 2, pcaSample: 300, seed: 7 },
  full: {
    epsilons: [0, 1, 2, 3, 4, 5, 6],
    perClass: 30,
    directions: 3,
    randomDraws: 10,
    pcaSample: 2000,
    seed: 7,
  },
};

export interface ImageData {
  job: Job<DataMeta>;
  classNames: string[];
  /** Shown on the report page. */
  describe: { [key: string]: Json | undefined };
}

export interface ImageReportConfig {
  id: string;
  title: string;
  summary: string;
  datasets?: IdxSource[];
  /** The data job and class names for a plan (may throw a missing-data error, exit code 3). */
  data(ctx: PlanContext): ImageData;
  profiles: Record<ProfileName, ImageProfile>;
}

/** 28×28 images, 10 classes: the shape every image report's model shares. */
export const IMAGE_SHAPE = { input: 784, classes: 10 };

/**
 * Training shared by the image reports: AdamW with the decay and latent noise that the paper
 * found to give clean features (§4, Fig. 4), and input noise, which cuts the weight left on
 * never-lit border pixels (each report measures it as its own step: recipe against recipe with
 * input noise); warm-up over 5% of steps; batch 128.
 */
export const IMAGE_TRAINING = {
  batchSize: 128,
  lr: 0.002,
  weightDecay: 0.5,
  warmupFraction: 0.05,
  latentNoise: 0.33,
  inputNoise: 0.3,
  seed: 0,
};

/** The smoke profile's data caps: enough to exercise every stage in seconds. */
export function smokeLimits(profile: ProfileName): { trainLimit?: number; testLimit?: number } {
  return profile === 'smoke' ? { trainLimit: 1000, testLimit: 400 } : {};
}

/**
 * An IDX data set for a plan: found where the user named (flag, else environment variable) or in
 * its system, package or download copy, verified against its published checksums (a copy we
 * installed must match; a user's own files that differ are used with a warning), and read with
 * the official split, capped as given.
 */
export function imageData(
  ctx: PlanContext,
  source: IdxSource,
  split: OfficialSplitSettings,
): { job: Job<DataMeta>; source: string } {
  const located = locateDataset(source, { dir: ctx.dataDirs[source.name], cacheDir: ctx.cacheDir });
  const warning = verifyDataset(source, located);
  if (warning) ctx.log?.warn(warning);
  return {
    job: idxDataJob(source, located, split),
    source: publishedSource(source, located, warning !== undefined),
  };
}

/**
 * Where the files came from, as a page may say it: a package's name and version, the standard
 * system path, or how the user named them, but never a path of this machine (a package's folder
 * or a download cache lies wherever the build ran).
 */
export function publishedSource(source: IdxSource, located: LocatedDataset, differs: boolean): string {
  const checked = differs
    ? 'which differ from the published files'
    : 'verified against the published checksums';
  switch (located.origin) {
    case 'package':
      return `IDX files of the ${located.how}, ${checked}`;
    case 'system':
      return `IDX files in ${located.dir} (the system copy), ${checked}`;
    case 'download':
      return `IDX files downloaded from ${source.baseUrl}, ${checked}`;
    case 'flag':
    case 'env':
      return `IDX files named by ${located.how}, ${checked}`;
  }
}

/**
 * The validation split every image report and study carves from the official training images
 * (class-stratified, seeded; the same images everywhere, so the reports share one data job):
 * 5,000 of MNIST's and Fashion-MNIST's 60,000, leaving 55,000 to train on.
 */
export function validationSize(profile: ProfileName): number {
  return profile === 'smoke' ? 200 : 5_000;
}

/**
 * A data set's split: the validation images, then the smoke profile's caps, else the given ones (absent: all
 * the rest).
 */
export function capped(
  profile: ProfileName,
  caps: { trainLimit?: number | undefined; testLimit?: number | undefined } = {},
): OfficialSplitSettings {
  const limits = { ...caps, ...smokeLimits(profile) };
  return {
    validation: validationSize(profile),
    ...(limits.trainLimit ? { trainLimit: limits.trainLimit } : {}),
    ...(limits.testLimit ? { testLimit: limits.testLimit } : {}),
    seed: 1,
  };
}

/**
 * The data of the multi-model studies (baselines, ablations): MNIST and Fashion-MNIST, each with
 * optional caps. One definition, so the studies share the cached data sets.
 */
export function studyData(
  ctx: PlanContext,
  caps: Record<
    'mnist' | 'fashion-mnist',
    { trainLimit?: number | undefined; testLimit?: number | undefined }
  >,
): { dataset: string; title: string; classNames: string[]; job: Job<DataMeta> }[] {
  return [MNIST_IDX, FASHION_MNIST].map((source) => ({
    dataset: source.name,
    title: source.title,
    classNames: source.classNames,
    job: imageData(ctx, source, capped(ctx.profile, caps[source.name as 'mnist' | 'fashion-mnist'])).job,
  }));
}

/** Gallery and explanation sizes shared by every image report. */
const PER_SIGN = 3;
const SPECTRUM_TOP = 30;
const HOSVD_COMPONENTS = 4;

export function imageReport(config: ImageReportConfig): ReportSpec {
  return {
    id: config.id,
    title: config.title,
    summary: config.summary,
    ...(config.datasets ? { datasets: config.datasets } : {}),
    plan: (ctx) => planImageReport(config, ctx),
  };
}

/** The report's three models, in the order the comparison shows them; the last is the report's model. */
const STEPS = [
  {
    id: 'unregularized',
    label: 'none',
    column: 'none',
    describe: 'the same classifier trained without noise or weight decay',
  },
  {
    id: 'recipe',
    label: 'latent noise + decay',
    column: 'σ + decay',
    describe:
      "the same classifier trained with the paper's recipe only (latent noise " +
      'and weight decay, no input noise)',
  },
  { id: 'model', label: '+ input noise', column: '+ input noise', describe: '' },
] as const;

function planImageReport(config: ImageReportConfig, ctx: PlanContext): ReportPlan {
  const jobs = planImageJobs(config, ctx);
  const { shape, train, data, settings, steps, perturbation, truncation, eigen, scores, scoring } = jobs;
  const regularization =
    `latent noise ${train.latentNoise}, weight decay ${train.weightDecay} ` +
    `and input noise ${train.inputNoise ?? 0}`;
  return {
    settings: {
      data: JSON.parse(JSON.stringify(data.describe)) as Json,
      model: { kind: bilinearClassifier.name, ...shape },
      task: classification.name,
      training: { ...train },
      comparison: { recipe: { ...settings.recipe }, unregularized: { ...settings.unregularized } },
      perturbation: { ...jobs.perturbationSettings },
      scores: { ...scoring },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    analyses: [
      { id: 'perturbation', job: perturbation },
      { id: 'truncation', job: truncation },
      { id: 'eigen', job: eigen },
      ...steps.map((s) => ({ id: s.id === 'model' ? 'scores' : `${s.id}-scores`, job: scores[s.id]! })),
    ],
    models: steps.map((s) => ({
      id: s.id,
      description: s.id === 'model' ? `${bilinearClassifier.describe(shape)}, ${regularization}` : s.describe,
      job: s.model,
    })),
    figures: imageFigures(config, ctx, jobs),
    metrics: (read) => imageMetrics(read, jobs),
  };
}

type ImageJobs = ReturnType<typeof planImageJobs>;

/** The three steps' models and decompositions, and the analyses of the report's model. */
function planImageJobs(config: ImageReportConfig, ctx: PlanContext) {
  const { shape, train } = config.profiles[ctx.profile];
  const data = config.data(ctx);
  const classNames = data.classNames;
  const settings: Record<(typeof STEPS)[number]['id'], TrainSettings> = {
    unregularized: { ...train, weightDecay: 0, latentNoise: 0, inputNoise: 0 },
    recipe: { ...train, inputNoise: 0 },
    model: train,
  };
  const steps = STEPS.map((step) => {
    const model = trainJob(
      `${config.id}/${step.id}`,
      data.job,
      { kind: bilinearClassifier, shape },
      classification,
      settings[step.id],
      ctx.backend,
    );
    const eigen = classEigenJob(`${config.id}/${step.id}`, model, classNames);
    return { ...step, model, eigen };
  });
  const { model, eigen } = steps.at(-1)!;
  const hosvd = hosvdJob(`${config.id}/model`, model, HOSVD_COMPONENTS);
  const perturbationSettings = PERTURBATION[ctx.profile === 'smoke' ? 'smoke' : 'full'];
  const perturbation = perturbationJob(
    `${config.id}/model`,
    { data: data.job, model, eigen },
    perturbationSettings,
  );
  // How much of the logits the top eigenvectors keep (logit R² and accuracy at each k on the test
  // images), so that what the spectra caption would claim is a number in the text instead.
  const truncation = truncationJob(
    `${config.id}/model`,
    { data: data.job, model, eigen },
    { maxK: Math.min(20, embedDim(shape)), randomDraws: 1, pcaSample: 2000, seed: 11 },
  );
  // The ablations' interpretability scores of every step (effective rank, periphery mass, …), on
  // 2,000 validation images as in the studies, so the page can say in numbers what each step changes.
  const scoring: AblationSettings = {
    topFeatures: 3,
    maxK: Math.min(50, embedDim(shape)),
    height: 28,
    width: 28,
    validationSample: 2000,
  };
  const scores = Object.fromEntries(
    steps.map((s) => [
      s.id,
      ablationJob(`${config.id}/${s.id}`, { data: data.job, model: s.model, eigen: s.eigen }, scoring),
    ]),
  );
  return {
    shape,
    train,
    data,
    settings,
    steps,
    model,
    eigen,
    hosvd,
    perturbation,
    perturbationSettings,
    truncation,
    scores,
    scoring,
  };
}

function imageFigures(config: ImageReportConfig, ctx: PlanContext, jobs: ImageJobs): FigurePlan[] {
  const { data, steps, model, eigen, hosvd, perturbation, perturbationSettings, train } = jobs;
  const classNames = data.classNames;
  const image = { height: 28, width: 28 };
  const classWord = config.id === 'mnist' ? 'digit' : 'class';
  const gallery = { perSign: PER_SIGN, ...image, classNames, classWord };
  const compared = Object.fromEntries<Job>(
    steps.flatMap((s) => [
      [`${s.id}.model`, s.model],
      [`${s.id}.eigen`, s.eigen],
    ]),
  );
  return [
    figure(
      config.id,
      'training-curves',
      trainingCurves,
      { model },
      {
        metrics: [...classification.metrics],
        validation: validationText(ctx.profile),
        monitored: TRAIN_MONITOR,
      },
    ),
    figure(config.id, 'eigenvector-gallery', eigenGallery, { model, eigen }, gallery),
    figure(
      config.id,
      'eigenvalue-spectra',
      eigenvalueSpectra,
      { eigen },
      {
        top: SPECTRUM_TOP,
        classNames,
        classWord,
      },
    ),
    figure(config.id, 'regularization-comparison', regularizationComparison, compared, {
      ...gallery,
      models: steps.map((s) => ({ label: s.column, model: `${s.id}.model`, eigen: `${s.id}.eigen` })),
      recipe: {
        latentNoise: train.latentNoise,
        weightDecay: train.weightDecay,
        inputNoise: train.inputNoise ?? 0,
      },
    }),
    figure(
      config.id,
      'hosvd-spectrum',
      hosvdSpectrum,
      { hosvd },
      {
        classNames,
        components: HOSVD_COMPONENTS * 2,
      },
    ),
    figure(
      config.id,
      'hosvd-components',
      hosvdComponents,
      { model, hosvd },
      {
        components: HOSVD_COMPONENTS,
        perSign: PER_SIGN,
        classNames,
        ...image,
      },
    ),
    figure(
      config.id,
      'input-explanations',
      inputExplanations,
      { model, eigen, data: data.job },
      {
        classNames,
        ...image,
        misclassified: 2,
        topClasses: 3,
        topFeatures: 4,
      },
    ),
    figure(
      config.id,
      'perturbation-check',
      perturbationChart,
      { perturbation },
      {
        directions: perturbationSettings.directions,
        randomDraws: perturbationSettings.randomDraws,
        perClass: perturbationSettings.perClass,
        classes: classNames.length,
      },
    ),
  ];
}

/** Headline numbers: the report's model, each step's accuracy and scores, the analyses. */
function imageMetrics(read: ReadArtifact, jobs: ImageJobs): Record<string, Metric> {
  const { shape, train, steps, perturbation, eigen, truncation, scores, scoring } = jobs;
  const meta = (id: string): ModelMeta => read(steps.find((s) => s.id === id)!.model).meta;
  const m = meta('model');
  const out: Record<string, Metric> = {
    'test-accuracy': {
      label: 'test accuracy',
      value: m.final.test['accuracy']!,
      format: 'percent',
      digits: 2,
    },
    'validation-accuracy': {
      label: 'validation accuracy',
      value: m.final.validation['accuracy']!,
      format: 'percent',
      digits: 2,
    },
    'train-accuracy': {
      label: 'training accuracy',
      value: m.final.train['accuracy']!,
      format: 'percent',
      digits: 2,
    },
    'test-loss': { label: 'test loss', value: m.final.test['loss']!, format: 'number', digits: 4 },
    'embed-dim': { label: 'embedding dimension d', value: embedDim(shape), format: 'number', digits: 0 },
    'hidden-dim': { label: 'hidden dimension m', value: shape.hidden, format: 'number', digits: 0 },
    epochs: { label: 'epochs', value: train.epochs, format: 'number', digits: 0 },
    ...perturbationMetrics(read(perturbation).meta.summary),
    ...concentrationMetrics(read(eigen), read(truncation).meta),
  };
  for (const step of steps) {
    const prefix = step.id === 'model' ? '' : `${step.id}-`;
    const which = step.id === 'model' ? '' : ` (${step.label})`;
    if (prefix) {
      out[`${prefix}test-accuracy`] = {
        label: `test accuracy${which}`,
        value: meta(step.id).final.test['accuracy']!,
        format: 'percent',
        digits: 2,
      };
      out[`${prefix}train-accuracy`] = {
        label: `training accuracy${which}`,
        value: meta(step.id).final.train['accuracy']!,
        format: 'percent',
        digits: 2,
      };
    }
    Object.assign(out, scoreMetrics(prefix, which, read(scores[step.id]!).meta.scores, scoring.maxK));
  }
  return out;
}

/** How the validation split is described on a page. */
function validationText(profile: ProfileName): string {
  return `${validationSize(profile).toLocaleString('en-US')} images carved from the training set`;
}

/** The interpretability scores of one model (analysis/ablation.ts), as metrics named `<prefix><metric>`. */
function scoreMetrics(
  prefix: string,
  which: string,
  scores: RunScores,
  maxK: number,
): Record<string, Metric> {
  const out: Record<string, Metric> = {
    [`${prefix}effective-rank`]: {
      label: `${METRICS.effectiveRank.label}${which}`,
      value: scores.effectiveRank,
      format: 'number',
      digits: 1,
    },
    [`${prefix}periphery-mass`]: {
      label: `${METRICS.peripheryMass.label}${which}`,
      value: scores.peripheryMass,
      format: 'number',
      digits: 3,
    },
    [`${prefix}feature-support`]: {
      label: `${METRICS.featureSupport.label}${which}`,
      value: scores.featureSupport,
      format: 'number',
      digits: 3,
    },
    [`${prefix}total-variation`]: {
      label: `${METRICS.totalVariation.label}${which}`,
      value: scores.totalVariation,
      format: 'number',
      digits: 3,
    },
  };
  out[`${prefix}eigenvectors-needed`] =
    scores.eigenvectorsNeeded === null
      ? {
          label: `${METRICS.eigenvectorsNeeded.label}${which}`,
          value: maxK,
          format: 'number',
          digits: 0,
          text: `more than ${maxK}`,
        }
      : {
          label: `${METRICS.eigenvectorsNeeded.label}${which}`,
          value: scores.eigenvectorsNeeded,
          format: 'number',
          digits: 0,
        };
  return out;
}

/**
 * How concentrated the spectra are: the top eigenvalues' share of Σλ², and what the top k keep of the logits.
 */
function concentrationMetrics(
  eigen: Artifact<EigenMeta>,
  truncation: TruncationResult,
): Record<string, Metric> {
  const c = eigen.meta.directions.length;
  const share = (k: number) =>
    Array.from({ length: c }, (_, a) => {
      const values = classEigen(eigen, a).values;
      let top = 0;
      let all = 0;
      values.forEach((v, i) => {
        all += v * v;
        if (i < k) top += v * v;
      });
      return top / all;
    }).reduce((s, x) => s + x, 0) / c;
  const out: Record<string, Metric> = {};
  for (const k of [3, 10]) {
    if (k > truncation.ks.length) continue;
    out[`top${k}-share`] = {
      label: `share of Σλ² in the top ${k} eigenvalues (mean over classes)`,
      value: share(k),
      format: 'percent',
      digits: 0,
    };
    out[`r2-${k}`] = {
      label: `logit R² of the top ${k} eigenvectors per class (test images)`,
      value: truncation.eigen.r2[k - 1]!,
      format: 'number',
      digits: 2,
    };
    out[`accuracy-${k}`] = {
      label: `test accuracy of the top ${k} eigenvectors per class`,
      value: truncation.eigen.accuracy[k - 1]!,
      format: 'percent',
      digits: 1,
    };
  }
  return out;
}

/** The perturbation check's headline numbers, at the largest distance and at one in the middle. */
function perturbationMetrics(summary: SummaryRow[]): Record<string, Metric> {
  const epsilons = [...new Set(summary.map((r) => r.epsilon))];
  const out: Record<string, Metric> = {};
  for (const [name, epsilon] of [
    ['max', epsilons.at(-1)!],
    ['mid', epsilons[Math.floor(epsilons.length / 2)]!],
  ] as const) {
    out[`perturbation-${name}-epsilon`] = {
      label: 'distance moved ε',
      value: epsilon,
      format: 'number',
      digits: 0,
    };
    for (const method of ['eigen', 'other-class', 'random', 'pca'] as const) {
      const row = summary.find((r) => r.method === method && r.epsilon === epsilon)!;
      out[`perturbation-${name}-${method}-flipped`] = withInterval(
        {
          label: `target images misclassified along ${method} directions at ε = ${epsilon}`,
          value: row.targetMisclassification.mean,
          format: 'percent',
          digits: 0,
        },
        row.targetMisclassification,
        'target classes',
      );
      out[`perturbation-${name}-${method}-others`] = withInterval(
        {
          label: `other images still correct along ${method} directions at ε = ${epsilon}`,
          value: row.offTargetAccuracy.mean,
          format: 'percent',
          digits: 0,
        },
        row.offTargetAccuracy,
        'target classes',
      );
    }
  }
  return out;
}
