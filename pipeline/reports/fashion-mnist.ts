/**
 * Fashion-MNIST eigenvector features: the same report on clothing images, whose classes share
 * more structure than digits. Official 60,000 / 10,000 split, from Debian's
 * dataset-fashion-mnist, a directory the user names, or a verified download.
 */
import { idxDataJob } from '../data/job.ts';
import { FASHION_MNIST, locateDataset } from '../data/sources.ts';
import { IMAGE_SHAPE, IMAGE_TRAINING, imageReport, smokeLimits } from './image-report.ts';

const [SHAPE, TRAIN] = [IMAGE_SHAPE, IMAGE_TRAINING];

export const fashionMnistReport = imageReport({
  id: 'fashion-mnist',
  title: 'Fashion-MNIST: eigenvector features of a bilinear classifier',
  summary: 'The same bilinear classifier trained on Fashion-MNIST clothing images, and the eigenvectors of its class interaction matrices.',
  datasets: [FASHION_MNIST],
  data(ctx) {
    const located = locateDataset(FASHION_MNIST, { dir: ctx.dataDirs['fashion-mnist'], cacheDir: ctx.cacheDir });
    const limits = smokeLimits(ctx.profile);
    return {
      job: idxDataJob(FASHION_MNIST, located, { ...limits, seed: 1 }),
      classNames: FASHION_MNIST.classNames,
      describe: { source: `IDX files in ${located.dir} (${located.how})`, split: 'official 60,000 / 10,000', ...limits },
    };
  },
  profiles: {
    smoke: { shape: { ...SHAPE, embed: 32, hidden: 32 }, train: { ...TRAIN, epochs: 2, lr: 0.005 } },
    // 60,000 images: 469 steps per epoch, about 4 s per epoch on the native path.
    default: { shape: { ...SHAPE, embed: 300, hidden: 300 }, train: { ...TRAIN, epochs: 15 } },
    paper: { shape: { ...SHAPE, embed: 300, hidden: 1000 }, train: { ...TRAIN, epochs: 100, lr: 0.001 } },
  },
});
