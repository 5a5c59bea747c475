/**
 * An image classification data set in memory, and its seeded stratified split.
 * Images are row-major, one row of `dim` pixels in [0, 1] per example.
 */
import { Rng } from '../util/random.ts';
import { sha256 } from '../util/hash.ts';

export interface ImageSet {
  images: Float32Array; // (n, dim)
  labels: Uint8Array; // (n,)
  n: number;
  dim: number;
}

export interface ImageDataset {
  name: string;
  /** Where the data came from, for provenance (package and version, or directory). */
  source: string;
  classNames: string[];
  /** Image height and width (dim = height · width). */
  height: number;
  width: number;
  /** SHA-256 of the pixels and labels as loaded, before any split. */
  hash: string;
  all: ImageSet;
}

export function imageSet(images: Float32Array, labels: Uint8Array, dim: number): ImageSet {
  const n = labels.length;
  if (images.length !== n * dim) {
    throw new Error(`images hold ${images.length} values, expected ${n} labels × ${dim} pixels = ${n * dim}`);
  }
  return { images, labels, n, dim };
}

export function hashImageSet(set: ImageSet): string {
  const imageBytes = new Uint8Array(set.images.buffer, set.images.byteOffset, set.images.byteLength);
  return sha256(Buffer.concat([imageBytes, set.labels]));
}

/** The examples at `indices`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const images = new Float32Array(indices.length * set.dim);
  const labels = new Uint8Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    images.set(set.images.subarray(i * set.dim, (i + 1) * set.dim), r * set.dim);
    labels[r] = set.labels[i]!;
  }
  return imageSet(images, labels, set.dim);
}

/**
 * Splits so that each class keeps the same share in train and test: within each class, a seeded
 * shuffle, the first round(testFraction · count) to test. Both halves are then shuffled (seeded)
 * so classes are interleaved. `limit` caps the train set size (after the split, stratified).
 */
export function stratifiedSplit(
  set: ImageSet,
  options: { testFraction: number; seed: number; trainLimit?: number; testLimit?: number },
): { train: ImageSet; test: ImageSet } {
  const rng = new Rng(options.seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.n; i++) {
    const label = set.labels[i]!;
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = rng.shuffle(byClass.get(label)!);
    const nTest = Math.round(options.testFraction * members.length);
    const testShare = members.slice(0, nTest);
    const trainShare = members.slice(nTest);
    test.push(...capShare(testShare, options.testLimit, set.n, options.testFraction));
    train.push(...capShare(trainShare, options.trainLimit, set.n, 1 - options.testFraction));
  }
  return { train: subset(set, rng.shuffle(train)), test: subset(set, rng.shuffle(test)) };
}

/** Keeps a class's share of a capped split, proportional to the class's size. */
function capShare(members: number[], limit: number | undefined, total: number, fraction: number): number[] {
  if (limit === undefined) return members;
  const keep = Math.round((members.length * limit) / (total * fraction));
  return members.slice(0, Math.min(keep, members.length));
}
