/**
 * The data job: loads a data set and makes its seeded stratified split. Cached like every job,
 * so later builds read a binary file instead of parsing the package's JSON.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifact, requireTensor } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { tensor } from '../emit/safetensors.ts';
import { imageSet, stratifiedSplit, type ImageDataset, type ImageSet } from './dataset.ts';
import { loadMnistPackage, mnistPackageVersion } from './mnist-package.ts';

export interface SplitSettings {
  testFraction: number;
  seed: number;
  /** Caps on the split sizes (stratified), for small profiles. */
  trainLimit?: number;
  testLimit?: number;
}

export function mnistPackageJob(split: SplitSettings): Job {
  return {
    stage: 'data',
    label: 'mnist',
    config: { dataset: 'mnist-package', version: mnistPackageVersion(), split: { ...split } },
    deps: {},
    run: async () => {
      const data = loadMnistPackage();
      const { train, test } = stratifiedSplit(data.all, split);
      return artifact({
        meta: {
          name: data.name,
          source: data.source,
          classNames: data.classNames,
          height: data.height,
          width: data.width,
          hash: data.hash,
          trainSize: train.n,
          testSize: test.n,
        },
        tensors: {
          'train.images': tensor(train.images, [train.n, train.dim]),
          'train.labels': tensor(train.labels, [train.n]),
          'test.images': tensor(test.images, [test.n, test.dim]),
          'test.labels': tensor(test.labels, [test.n]),
        },
      });
    },
  };
}

/** The train and test sets of a data artifact. */
export function splitOf(data: Artifact): { train: ImageSet; test: ImageSet } {
  const part = (name: 'train' | 'test') => {
    const images = requireTensor(data, `${name}.images`, 'data job');
    return imageSet(images.data as Float32Array, requireTensor(data, `${name}.labels`, 'data job').data as Uint8Array, images.shape[1]!);
  };
  return { train: part('train'), test: part('test') };
}

/** What a data artifact says of its data set: everything but the pixels. */
export type DataMeta = Omit<ImageDataset, 'all'>;

export function dataMeta(data: Artifact): DataMeta {
  const { name, source, classNames, height, width, hash } = data.meta as unknown as DataMeta;
  return { name, source, classNames, height, width, hash };
}
