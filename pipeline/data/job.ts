/**
 * The data job: loads a data set and makes its seeded stratified split. Cached like every job,
 * so later builds read a binary file instead of parsing the package's JSON.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifact, requireTensor } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { tensor } from '../emit/safetensors.ts';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { PipelineError } from '../errors.ts';
import { imageSet, stratifiedSample, stratifiedSplit, type ImageDataset, type ImageSet } from './dataset.ts';
import { readIdx } from './idx.ts';
import { loadMnistPackage, mnistPackageVersion } from './mnist-package.ts';
import type { IdxPart, IdxSource, LocatedDataset } from './sources.ts';

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

export interface OfficialSplitSettings {
  /** Caps on the official train and test sets (stratified samples), for smaller profiles. */
  trainLimit?: number;
  testLimit?: number;
  seed: number;
}

/**
 * An IDX data set with its official train/test split. The key holds each file's SHA-256, so a
 * changed file is a new data set. Images are stored as bytes (as in the files) and scaled to
 * [0, 1] when read.
 */
export function idxDataJob(source: IdxSource, located: LocatedDataset, split: OfficialSplitSettings): Job {
  const fingerprints = Object.fromEntries(Object.entries(located.paths).map(([part, path]) => [part, fileFingerprint(path)]));
  return {
    stage: 'data',
    label: source.name,
    config: { dataset: source.name, files: fingerprints, split: { ...split } },
    deps: {},
    run: async (ctx) => {
      ctx.log.info(`  reading ${source.title} from ${located.dir} (${located.how})`);
      const read = (images: IdxPart, labels: IdxPart) => idxSet(located.paths[images], located.paths[labels], source.classNames.length);
      const fullTrain = read('trainImages', 'trainLabels');
      const fullTest = read('testImages', 'testLabels');
      const train = stratifiedSample(fullTrain, split.trainLimit, split.seed);
      const test = stratifiedSample(fullTest, split.testLimit, split.seed + 1);
      const bytes = (set: ImageSet) => Uint8Array.from(set.images, (x) => Math.round(x * 255));
      return artifact({
        meta: {
          name: source.name,
          source: `IDX files (${located.how})`,
          classNames: source.classNames,
          height: 28,
          width: 28,
          hash: createHash('sha256').update(Object.values(fingerprints).join('')).digest('hex'),
          trainSize: train.n,
          testSize: test.n,
        },
        tensors: {
          'train.images': tensor(bytes(train), [train.n, train.dim]),
          'train.labels': tensor(train.labels, [train.n]),
          'test.images': tensor(bytes(test), [test.n, test.dim]),
          'test.labels': tensor(test.labels, [test.n]),
        },
      });
    },
  };
}

const fingerprintMemo = new Map<string, string>();

/**
 * SHA-256 of a file, remembered for this process by path, size and modification time: several
 * reports plan with the same 30 MB of IDX files, and a rebuild should hash them once, not per plan.
 */
function fileFingerprint(path: string): string {
  const { size, mtimeMs } = statSync(path);
  const id = `${path}\0${size}\0${mtimeMs}`;
  let digest = fingerprintMemo.get(id);
  if (!digest) {
    digest = createHash('sha256').update(readFileSync(path)).digest('hex');
    fingerprintMemo.set(id, digest);
  }
  return digest;
}

/** Images and labels from two IDX files, checked against each other. */
function idxSet(imagesPath: string, labelsPath: string, classes: number): ImageSet {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3) throw new PipelineError(`${imagesPath}: expected 3 dimensions (n, rows, cols), found ${images.dims.length}`, { exitCode: 2 });
  if (labels.dims.length !== 1) throw new PipelineError(`${labelsPath}: expected 1 dimension (n), found ${labels.dims.length}`, { exitCode: 2 });
  if (images.dims[0] !== labels.dims[0]) {
    throw new PipelineError(`${imagesPath} holds ${images.dims[0]} images but ${labelsPath} holds ${labels.dims[0]} labels`, { exitCode: 2 });
  }
  const dim = images.dims[1]! * images.dims[2]!;
  const bad = labels.data.findIndex((l) => l >= classes);
  if (bad >= 0) throw new PipelineError(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is not a class (0 … ${classes - 1})`, { exitCode: 2 });
  return imageSet(Float32Array.from(images.data, (x) => x / 255), Uint8Array.from(labels.data), dim);
}

/** The train and test sets of a data artifact (byte images scaled to [0, 1]). */
export function splitOf(data: Artifact): { train: ImageSet; test: ImageSet } {
  const part = (name: 'train' | 'test') => {
    const images = requireTensor(data, `${name}.images`, 'data job');
    const pixels = images.dtype === 'U8' ? Float32Array.from(images.data, (x) => x / 255) : (images.data as Float32Array);
    return imageSet(pixels, requireTensor(data, `${name}.labels`, 'data job').data as Uint8Array, images.shape[1]!);
  };
  return { train: part('train'), test: part('test') };
}

/** What a data artifact says of its data set: everything but the pixels. */
export type DataMeta = Omit<ImageDataset, 'all'>;

export function dataMeta(data: Artifact): DataMeta {
  const { name, source, classNames, height, width, hash } = data.meta as unknown as DataMeta;
  return { name, source, classNames, height, width, hash };
}
