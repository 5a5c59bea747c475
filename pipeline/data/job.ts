/**
 * The data job: reads an IDX data set (its official train/test split, with a validation split
 * carved from the training images, optionally capped by stratified samples) into one cached
 * artifact, so later builds read a binary file instead of
 * parsing the IDX files again. Its key holds each file's SHA-256, never its path: the same bytes
 * anywhere are the same data set.
 */
import { createHash } from 'node:crypto';
import { artifact, requireTensor, type Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { PipelineError } from '../errors.ts';
import { tensor } from '../tensors/safetensors.ts';
import { imageSet, stratifiedIndices, unitPixels, type ImageSet } from './dataset.ts';
import { fileFingerprint } from './fingerprint.ts';
import { readIdx } from './idx.ts';
import { MODULAR_DATA_KIND } from './modular.ts';
import type { IdxPart, IdxSource, LocatedDataset } from './sources.ts';

/** What every data artifact says of its data set, whatever the task: provenance. */
export type DataInfo = {
  name: string;
  /** Where the data came from (package and version, or directory). */
  source: string;
  /** SHA-256 identifying the data as read. */
  hash: string;
};

/** An image data set's metadata: everything but the pixels. */
export type DataMeta = DataInfo & {
  classNames: string[];
  height: number;
  width: number;
  trainSize: number;
  validationSize: number;
  testSize: number;
};

export interface OfficialSplitSettings {
  /**
   * Images carved from the official training set (a seeded, class-stratified sample) as the
   * validation split: settings are chosen and training curves drawn on it, and the test set is
   * used once, for the final numbers. The training split is the rest.
   */
  validation: number;
  /**
   * Caps on the training split (after the validation images are taken out) and the official test set
   * (stratified samples), for smaller profiles.
   */
  trainLimit?: number;
  testLimit?: number;
  seed: number;
}

type IdxParams = {
  dataset: { name: string; title: string; classNames: string[]; image: { height: number; width: number } };
  /** SHA-256 of each file, by part. */
  files: Record<IdxPart, string>;
  split: { validation: number; trainLimit?: number; testLimit?: number; seed: number };
};
type IdxLocations = { dir: string; how: string; paths: Record<IdxPart, string> };

const idxData = defineJob<DataMeta, Record<string, never>, IdxParams>({
  name: 'data/idx',
  stage: 'data',
  module: import.meta.url,
  run: async (ctx, _inputs, params) => {
    const located = ctx.locations as IdxLocations;
    ctx.log.info(`  reading ${params.dataset.title} from ${located.dir} (${located.how})`);
    const expected = {
      classes: params.dataset.classNames.length,
      ...params.dataset.image,
      title: params.dataset.title,
    };
    // Kept as bytes throughout (as in the files): 60,000 images are 47 MB, four times that as floats.
    const official = idxBytes(located.paths.trainImages, located.paths.trainLabels, expected);
    const { validation, rest } = carveValidation(official, params.split.validation, params.split.seed + 2);
    const train = sampleBytes(rest, params.split.trainLimit, params.split.seed);
    const test = sampleBytes(
      idxBytes(located.paths.testImages, located.paths.testLabels, expected),
      params.split.testLimit,
      params.split.seed + 1,
    );
    const meta: DataMeta = {
      name: params.dataset.name,
      source: `IDX files (${located.how})`,
      classNames: params.dataset.classNames,
      ...params.dataset.image,
      hash: createHash('sha256').update(Object.values(params.files).join('')).digest('hex'),
      trainSize: train.n,
      validationSize: validation.n,
      testSize: test.n,
    };
    return artifact({
      meta,
      tensors: {
        'train.images': tensor(train.images, [train.n, train.dim]),
        'train.labels': tensor(train.labels, [train.n]),
        'validation.images': tensor(validation.images, [validation.n, validation.dim]),
        'validation.labels': tensor(validation.labels, [validation.n]),
        'test.images': tensor(test.images, [test.n, test.dim]),
        'test.labels': tensor(test.labels, [test.n]),
      },
    });
  },
});

/**
 * An IDX data set with its official train/test split and a validation split carved from the
 * training images. Images are stored as bytes (as in the files) and scaled to [0, 1] when read.
 */
export function idxDataJob(
  source: IdxSource,
  located: LocatedDataset,
  split: OfficialSplitSettings,
): Job<DataMeta> {
  const files = Object.fromEntries(
    Object.entries(located.paths).map(([part, path]) => [part, fileFingerprint(path)]),
  ) as Record<IdxPart, string>;
  const params: IdxParams = {
    dataset: { name: source.name, title: source.title, classNames: source.classNames, image: source.image },
    files,
    split: {
      validation: split.validation,
      ...(split.trainLimit ? { trainLimit: split.trainLimit } : {}),
      ...(split.testLimit ? { testLimit: split.testLimit } : {}),
      seed: split.seed,
    },
  };
  if (!Number.isInteger(split.validation) || split.validation < source.classNames.length) {
    throw new PipelineError(
      `${source.title}: the validation split must be a whole number of at ` +
        `least ${source.classNames.length} images (one per class), got ${split.validation}`,
      { exitCode: 2 },
    );
  }
  return idxData.create(source.name, {}, params, {
    locations: { dir: located.dir, how: located.how, paths: { ...located.paths } },
  });
}

type ByteSet = { images: Uint8Array; labels: Uint8Array; n: number; dim: number };

/** The rows of a byte set at `indices`, in that order, copied. */
function take(set: ByteSet, indices: number[]): ByteSet {
  const images = new Uint8Array(indices.length * set.dim);
  const labels = new Uint8Array(indices.length);
  indices.forEach((i, r) => {
    images.set(set.images.subarray(i * set.dim, (i + 1) * set.dim), r * set.dim);
    labels[r] = set.labels[i]!;
  });
  return { images, labels, n: indices.length, dim: set.dim };
}

/** A stratified sample of `count` images as the validation split, and the rest in their original order. */
export function carveValidation(
  set: ByteSet,
  count: number,
  seed: number,
): { validation: ByteSet; rest: ByteSet } {
  const chosen = stratifiedIndices(set.labels, count, seed);
  if (!chosen || chosen.length >= set.n)
    throw new PipelineError(
      `a validation split of ${count} images leaves no training images (the set has ${set.n})`,
      { exitCode: 2 },
    );
  const taken = new Uint8Array(set.n);
  for (const i of chosen) taken[i] = 1;
  const rest: number[] = [];
  for (let i = 0; i < set.n; i++) if (!taken[i]) rest.push(i);
  return { validation: take(set, chosen), rest: take(set, rest) };
}

/** A stratified sample (stratifiedIndices) of a byte set, copied; the set itself when all is kept. */
function sampleBytes(set: ByteSet, limit: number | undefined, seed: number): ByteSet {
  const indices = stratifiedIndices(set.labels, limit, seed);
  return indices ? take(set, indices) : set;
}

/** Images (pixels in [0, 1]) and labels from two IDX files, checked against each other. */
export function idxSet(imagesPath: string, labelsPath: string, classes: number): ImageSet {
  const set = idxBytes(imagesPath, labelsPath, { classes });
  return imageSet(unitPixels(set.images), set.labels, set.dim);
}

/**
 * Images (bytes) and labels from two IDX files, checked against each other and, when given,
 * against the image size the data set is published with (so a train and a test file of
 * different sizes, or a set the models cannot read, stop here and are never cached).
 */
function idxBytes(
  imagesPath: string,
  labelsPath: string,
  expected: { classes: number; height?: number; width?: number; title?: string },
): ByteSet {
  const { classes } = expected;
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3)
    throw new PipelineError(
      `${imagesPath}: expected 3 dimensions (n, rows, cols), found ${images.dims.length}`,
      { exitCode: 2 },
    );
  if (labels.dims.length !== 1)
    throw new PipelineError(`${labelsPath}: expected 1 dimension (n), found ${labels.dims.length}`, {
      exitCode: 2,
    });
  if (images.dims[0] !== labels.dims[0]) {
    throw new PipelineError(
      `${imagesPath} holds ${images.dims[0]} images but ${labelsPath} holds ${labels.dims[0]} labels`,
      { exitCode: 2 },
    );
  }
  const [, rows, cols] = images.dims as [number, number, number];
  if (expected.height !== undefined && (rows !== expected.height || cols !== expected.width)) {
    throw new PipelineError(
      `${imagesPath} holds ${rows}×${cols} images, but ` +
        `${expected.title ?? 'this data set'} has ${expected.height}×${expected.width} images`,
      {
        exitCode: 2,
        hint:
          'point the data directory at the published files (or delete them and let ' +
          '--download fetch them again)',
      },
    );
  }
  const dim = rows * cols;
  const bad = labels.data.findIndex((l) => l >= classes);
  if (bad >= 0)
    throw new PipelineError(
      `${labelsPath}: label ${labels.data[bad]} at index ${bad} is not a class (0 … ${classes - 1})`,
      { exitCode: 2 },
    );
  return { images: images.data, labels: Uint8Array.from(labels.data), n: labels.dims[0]!, dim };
}

/**
 * The labelled data artifact of an input known only by name, checked: an IDX image set, or a
 * generated set stored the same way (data/modular.ts: inputs as rows, labels as bytes).
 */
export function asImageData(a: Artifact | undefined, what = 'data'): Artifact<DataMeta> {
  if (a?.kind === MODULAR_DATA_KIND) return a as Artifact<DataMeta>;
  return artifactOf(a, idxData, what);
}

/** The train, validation and test sets of an image data artifact (byte images scaled to [0, 1]). */
export function splitOf(data: Artifact): { train: ImageSet; validation: ImageSet; test: ImageSet } {
  const part = (name: 'train' | 'validation' | 'test') => {
    const images = requireTensor(data, `${name}.images`, 'data job');
    const pixels =
      images.dtype === 'U8' ? unitPixels(images.data as Uint8Array) : (images.data as Float32Array);
    return imageSet(
      pixels,
      requireTensor(data, `${name}.labels`, 'data job').data as Uint8Array,
      images.shape[1]!,
    );
  };
  return { train: part('train'), validation: part('validation'), test: part('test') };
}

/** What an image data artifact says of its data set. */
export function dataMeta(data: Artifact): DataMeta {
  return asImageData(data).meta;
}
