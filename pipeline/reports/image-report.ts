/**
 * The image classification reports (MNIST, Fashion-MNIST): one factory, so both reports show the
 * same figures computed the same way. For each data set: a regularised bilinear classifier
 * 784 → d → m → c (latent noise and decoupled weight decay, paper §4), the same model trained
 * without regularisation for comparison, their class eigendecompositions, and the HOSVD.
 */
import type { Json } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import { classEigenJob, hosvdJob } from '../decompose/job.ts';
import { idxDataJob, type DataMeta, type OfficialSplitSettings } from '../data/job.ts';
import { FASHION_MNIST, locateDataset, MNIST_IDX, verifyDataset, type IdxSource } from '../data/sources.ts';
import { eigenGallery, regularizationComparison } from '../figures/eigen-gallery.ts';
import { hosvdComponents, hosvdSpectrum } from '../figures/hosvd.ts';
import { figureJob } from '../figures/job.ts';
import { eigenvalueSpectra } from '../figures/spectra.ts';
import { trainingCurves } from '../figures/training-curves.ts';
import { inputExplanations } from '../figures/explanations.ts';
import { perturbationChart } from '../figures/causal.ts';
import { ablationJob, perturbationJob } from '../analysis/job.ts';
import { METRICS, type AblationSettings } from '../analysis/ablation.ts';
import type { PerturbationSettings, SummaryRow } from '../analysis/perturb.ts';
import type { RunScores } from '../analysis/ablation.ts';
import { bilinearClassifier, embedDim, type BilinearShape } from '../models/bilinear-classifier.ts';
import type { ProfileName } from '../profiles.ts';
import { classification } from '../tasks/classification.ts';
import { trainJob, type ModelMeta } from '../train/job.ts';
import { TRAIN_MONITOR, type TrainSettings } from '../train/trainer.ts';
import type { FigurePlan, Metric, PlanContext, ReportPlan, ReportSpec } from './spec.ts';

export interface ImageProfile {
  shape: BilinearShape;
  train: TrainSettings;
}

/** Perturbation check sizes: a small one for smoke builds, the published one otherwise. */
const PERTURBATION: Record<'smoke' | 'full', PerturbationSettings> = {
  smoke: { epsilons: [0, 2, 4], perClass: 5, directions: 2, randomDraws: 2, pcaSample: 300, seed: 7 },
  full: { epsilons: [0, 1, 2, 3, 4, 5, 6], perClass: 30, directions: 3, randomDraws: 10, pcaSample: 2000, seed: 7 },
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
 * never-lit border pixels (periphery mass of MNIST's top eigenvectors 0.25 → 0.10, at 97% test
 * accuracy, measured on the default model); warm-up over 5% of steps; batch 128.
 */
export const IMAGE_TRAINING = { batchSize: 128, lr: 0.002, weightDecay: 0.5, warmupFraction: 0.05, latentNoise: 0.33, inputNoise: 0.3, seed: 0 };

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
export function imageData(ctx: PlanContext, source: IdxSource, split: OfficialSplitSettings): { job: Job<DataMeta>; dir: string; how: string } {
  const located = locateDataset(source, { dir: ctx.dataDirs[source.name], cacheDir: ctx.cacheDir });
  const warning = verifyDataset(source, located);
  if (warning) ctx.log?.warn(warning);
  return { job: idxDataJob(source, located, split), dir: located.dir, how: located.how };
}

/** A data set's caps: the smoke profile's, else the given ones (absent: the whole official split). */
export function capped(profile: ProfileName, caps: { trainLimit?: number | undefined; testLimit?: number | undefined } = {}): OfficialSplitSettings {
  const limits = { ...caps, ...smokeLimits(profile) };
  return { ...(limits.trainLimit ? { trainLimit: limits.trainLimit } : {}), ...(limits.testLimit ? { testLimit: limits.testLimit } : {}), seed: 1 };
}

/**
 * The data of the multi-model studies (baselines, ablations): MNIST and Fashion-MNIST, each with
 * optional caps. One definition, so the studies share the cached data sets.
 */
export function studyData(ctx: PlanContext, caps: Record<'mnist' | 'fashion-mnist', { trainLimit?: number | undefined; testLimit?: number | undefined }>): { dataset: string; title: string; classNames: string[]; job: Job<DataMeta> }[] {
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

function planImageReport(config: ImageReportConfig, ctx: PlanContext): ReportPlan {
  const { shape, train } = config.profiles[ctx.profile];
  const data = config.data(ctx);
  const plainSettings = { ...train, weightDecay: 0, latentNoise: 0, inputNoise: 0 };
  const classNames = data.classNames;
  const model = trainJob(`${config.id}/model`, data.job, { kind: bilinearClassifier, shape }, classification, train, ctx.backend);
  const plainModel = trainJob(`${config.id}/unregularized`, data.job, { kind: bilinearClassifier, shape }, classification, plainSettings, ctx.backend);
  const eigen = classEigenJob(`${config.id}/model`, model, classNames);
  const plainEigen = classEigenJob(`${config.id}/unregularized`, plainModel, classNames);
  const hosvd = hosvdJob(`${config.id}/model`, model, HOSVD_COMPONENTS);
  const perturbationSettings = PERTURBATION[ctx.profile === 'smoke' ? 'smoke' : 'full'];
  const perturbation = perturbationJob(`${config.id}/model`, { data: data.job, model, eigen }, perturbationSettings);
  // The ablations' interpretability scores of both models (effective rank, periphery mass, …),
  // so the page can say in numbers what regularization changes; k within one point on 2,000 test
  // images, as in the studies (the whole 10,000 took 30 s a model, a tenth of the report's build).
  const scoring: AblationSettings = { topFeatures: 3, maxK: Math.min(50, embedDim(shape)), height: 28, width: 28, testSample: 2000 };
  const scores = ablationJob(`${config.id}/model`, { data: data.job, model, eigen }, scoring);
  const plainScores = ablationJob(`${config.id}/unregularized`, { data: data.job, model: plainModel, eigen: plainEigen }, scoring);
  const image = { height: 28, width: 28 };
  const gallery = { perSign: PER_SIGN, ...image, classNames };
  const regularization = `latent noise ${train.latentNoise}, input noise ${train.inputNoise ?? 0} and weight decay ${train.weightDecay}`;
  const figure = (id: string, title: string, caption: string, job: (label: string) => FigurePlan['job']): FigurePlan => ({ id, title, caption, job: job(`${config.id}/${id}`) });
  const width = embedDim(shape);
  const classWord = config.id === 'mnist' ? 'digit' : 'class';
  return {
    settings: {
      data: JSON.parse(JSON.stringify(data.describe)) as Json,
      model: { kind: bilinearClassifier.name, ...shape },
      task: classification.name,
      training: { ...train },
      comparison: { ...plainSettings },
      perturbation: { ...perturbationSettings },
      scores: { ...scoring },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    analyses: [{ id: 'perturbation', job: perturbation }, { id: 'scores', job: scores }, { id: 'unregularized-scores', job: plainScores }],
    models: [
      { id: 'model', description: `${bilinearClassifier.describe(shape)}, ${regularization}`, job: model },
      { id: 'unregularized', description: `the same classifier trained without noise or weight decay`, job: plainModel },
    ],
    figures: [
      figure('training-curves', 'Training curves', `Cross-entropy loss and accuracy of the regularized model after each epoch, on the held-out test images and on the training images (a fixed, seeded sample of at most ${TRAIN_MONITOR.toLocaleString('en-US')} of them).`, (label) =>
        figureJob(label, trainingCurves, { model }, { metrics: [...classification.metrics] }),
      ),
      figure(
        'eigenvector-gallery',
        `Top eigenvectors of each ${classWord}`,
        `For each class, the three eigenvectors of its interaction matrix with the largest positive eigenvalues (+1…+3) and the three with the most negative (−1…−3), projected back to pixel space. Red pixels push the eigenvector's projection up, blue down; the logit changes by λ times the squared projection.`,
        (label) => figureJob(label, eigenGallery, { model, eigen }, gallery),
      ),
      figure(
        'eigenvalue-spectra',
        `Eigenvalue spectra per ${classWord}`,
        `The ${SPECTRUM_TOP} eigenvalues of largest magnitude of each class's interaction matrix, in order of |λ|. A few eigenvalues dominate each spectrum, so a few eigenvectors carry most of each logit.`,
        (label) => figureJob(label, eigenvalueSpectra, { eigen }, { top: SPECTRUM_TOP, classNames }),
      ),
      figure(
        'regularization-comparison',
        'With and without regularization',
        `Each class's top three positive eigenvectors in the model trained with ${regularization} (left) and in the same model trained without any of them (right), from the same initial weights and data order.`,
        (label) => figureJob(label, regularizationComparison, { model, eigen, plainModel, plainEigen }, { ...gallery, regularization }),
      ),
      figure(
        'hosvd-spectrum',
        'Components shared across classes',
        'The higher-order SVD of the interaction tensor: the share of its squared norm carried by each component (left) and how much each class uses the top components (right).',
        (label) => figureJob(label, hosvdSpectrum, { hosvd }, { classNames, components: HOSVD_COMPONENTS * 2 }),
      ),
      figure(
        'hosvd-components',
        'Top eigenvectors of the shared components',
        `Each of the top ${HOSVD_COMPONENTS} HOSVD components is an interaction matrix in its own right; its top positive and negative eigenvectors show the input patterns that the classes share.`,
        (label) => figureJob(label, hosvdComponents, { model, hosvd }, { components: HOSVD_COMPONENTS, perSign: PER_SIGN, ...image }),
      ),
      figure(
        'input-explanations',
        'Explanations of single test images',
        'The first test image of each class and the first misclassified ones, with the true class and the prediction. Each has its own page: its top logits, each split exactly into the contributions of the class\'s eigenvectors.',
        (label) => figureJob(label, inputExplanations, { model, eigen, data: data.job }, { classNames, ...image, misclassified: 2, topClasses: 3, topFeatures: 4 }),
      ),
      figure(
        'perturbation-check',
        'Moving images along eigenvectors',
        `Test images moved a distance ε towards removing their component in the span of ${perturbationSettings.directions} directions: the target class's top ${perturbationSettings.directions} positive eigenvectors, ${perturbationSettings.directions} random directions (${perturbationSettings.randomDraws} draws per class), or the data's top ${perturbationSettings.directions} principal directions. Left: share of the target class's images (${perturbationSettings.perClass} per class) no longer classified as the target; right: share of the other classes' images still classified correctly. Bands are 95% intervals over target classes and draws.`,
        (label) => figureJob(label, perturbationChart, { perturbation }, {}),
      ),
    ],
    metrics(read) {
      const m: ModelMeta = read(model).meta;
      const plain: ModelMeta = read(plainModel).meta;
      return {
        'test-accuracy': { label: 'test accuracy', value: m.final.test['accuracy']!, format: 'percent', digits: 2 },
        'train-accuracy': { label: 'training accuracy', value: m.final.train['accuracy']!, format: 'percent', digits: 2 },
        'test-loss': { label: 'test loss', value: m.final.test['loss']!, format: 'number', digits: 4 },
        'unregularized-test-accuracy': { label: 'test accuracy without regularization', value: plain.final.test['accuracy']!, format: 'percent', digits: 2 },
        'unregularized-train-accuracy': { label: 'training accuracy without regularization', value: plain.final.train['accuracy']!, format: 'percent', digits: 2 },
        'embed-dim': { label: 'embedding dimension d', value: width, format: 'number', digits: 0 },
        'hidden-dim': { label: 'hidden dimension m', value: shape.hidden, format: 'number', digits: 0 },
        epochs: { label: 'epochs', value: train.epochs, format: 'number', digits: 0 },
        ...perturbationMetrics(read(perturbation).meta.summary),
        ...scoreMetrics('', read(scores).meta.scores, scoring.maxK),
        ...scoreMetrics('unregularized-', read(plainScores).meta.scores, scoring.maxK),
      };
    },
  };
}

/** The interpretability scores of one model (analysis/ablation.ts), as metrics named `<prefix><metric>`. */
function scoreMetrics(prefix: string, scores: RunScores, maxK: number): Record<string, Metric> {
  const which = prefix ? ' without regularization' : '';
  const out: Record<string, Metric> = {
    [`${prefix}effective-rank`]: { label: `${METRICS.effectiveRank.label}${which}`, value: scores.effectiveRank, format: 'number', digits: 1 },
    [`${prefix}periphery-mass`]: { label: `${METRICS.peripheryMass.label}${which}`, value: scores.peripheryMass, format: 'number', digits: 3 },
    [`${prefix}feature-support`]: { label: `${METRICS.featureSupport.label}${which}`, value: scores.featureSupport, format: 'number', digits: 3 },
    [`${prefix}total-variation`]: { label: `${METRICS.totalVariation.label}${which}`, value: scores.totalVariation, format: 'number', digits: 3 },
  };
  out[`${prefix}k-within-one-point`] = scores.kWithinOnePoint === null
    ? { label: `${METRICS.kWithinOnePoint.label}${which}`, value: maxK, format: 'number', digits: 0, text: `more than ${maxK}` }
    : { label: `${METRICS.kWithinOnePoint.label}${which}`, value: scores.kWithinOnePoint, format: 'number', digits: 0 };
  return out;
}

/** The perturbation check's headline numbers, at the largest distance and at one in the middle. */
function perturbationMetrics(summary: SummaryRow[]): Record<string, Metric> {
  const epsilons = [...new Set(summary.map((r) => r.epsilon))];
  const out: Record<string, Metric> = {};
  for (const [name, epsilon] of [['max', epsilons.at(-1)!], ['mid', epsilons[Math.floor(epsilons.length / 2)]!]] as const) {
    out[`perturbation-${name}-epsilon`] = { label: 'distance moved ε', value: epsilon, format: 'number', digits: 0 };
    for (const method of ['eigen', 'random', 'pca'] as const) {
      const row = summary.find((r) => r.method === method && r.epsilon === epsilon)!;
      out[`perturbation-${name}-${method}-flipped`] = { label: `target images misclassified along ${method} directions at ε = ${epsilon}`, value: row.targetMisclassification.mean, format: 'percent', digits: 0 };
      out[`perturbation-${name}-${method}-others`] = { label: `other images still correct along ${method} directions at ε = ${epsilon}`, value: row.offTargetAccuracy.mean, format: 'percent', digits: 0 };
    }
  }
  return out;
}
