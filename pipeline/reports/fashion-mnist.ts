/**
 * Fashion-MNIST eigenvector features: the same report on clothing images, whose classes share
 * more structure than digits. Official 60,000 / 10,000 split, from Debian's
 * dataset-fashion-mnist, a directory the user names, or a verified download.
 */
import { FASHION_MNIST } from '../data/sources.ts';
import { capped, IMAGE_SHAPE, IMAGE_TRAINING, imageData, imageReport } from './image-report.ts';

const [SHAPE, TRAIN] = [IMAGE_SHAPE, IMAGE_TRAINING];

export const fashionMnistReport = imageReport({
  id: 'fashion-mnist',
  title: 'Fashion-MNIST: eigenvector features of a bilinear classifier',
  summary:
    'The same bilinear classifier trained on Fashion-MNIST clothing images, ' +
    'and the eigenvectors of its class interaction matrices.',
  datasets: [FASHION_MNIST],
  data(ctx) {
    const split = capped(ctx.profile);
    const { job, source } = imageData(ctx, FASHION_MNIST, split);
    return {
      job,
      classNames: FASHION_MNIST.classNames,
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
    smoke: { shape: { ...SHAPE, embed: 32, hidden: 32 }, train: { ...TRAIN, epochs: 2, lr: 0.005 } },
    // 60,000 images: 469 steps per epoch; 10 epochs keep the site's build budget (DESIGN.md).
    default: { shape: { ...SHAPE, embed: 300, hidden: 300 }, train: { ...TRAIN, epochs: 10 } },
    paper: { shape: { ...SHAPE, embed: 300, hidden: 1000 }, train: { ...TRAIN, epochs: 100, lr: 0.001 } },
  },
});
