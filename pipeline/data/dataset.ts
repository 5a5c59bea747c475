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
 * shuffle, the first round(testFraction · count) to test. Optional limits cap either side's size;
 * a capped side keeps the class proportions (largest-remainder rounding, so it has exactly the
 * limit). Both sides are finally shuffled (seeded) so that classes are interleaved.
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
  const testShares: number[][] = [];
  const trainShares: number[][] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = rng.shuffle(byClass.get(label)!);
    const nTest = Math.round(options.testFraction * members.length);
    testShares.push(members.slice(0, nTest));
    trainShares.push(members.slice(nTest));
  }
  const train = cap(trainShares, options.trainLimit).flat();
  const test = cap(testShares, options.testLimit).flat();
  return { train: subset(set, rng.shuffle(train)), test: subset(set, rng.shuffle(test)) };
}

/**
 * A class-stratified sample of at most `limit` examples, in a seeded random order: each class
 * keeps its share (largest remainder), drawn at random within the class.
 */
export function stratifiedSample(set: ImageSet, limit: number | undefined, seed: number): ImageSet {
  const indices = stratifiedIndices(set.labels, limit, seed);
  return indices ? subset(set, indices) : set;
}

/** The indices stratifiedSample keeps, in its order; null when it keeps everything as it is. */
export function stratifiedIndices(
  labels: Uint8Array,
  limit: number | undefined,
  seed: number,
): number[] | null {
  if (limit === undefined || limit >= labels.length) return null;
  const rng = new Rng(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  }
  const shares = [...byClass.keys()].sort((a, b) => a - b).map((label) => rng.shuffle(byClass.get(label)!));
  return rng.shuffle(cap(shares, limit).flat());
}

/** Pixel bytes (0 … 255) as floats in [0, 1]. A plain loop: several times faster than a mapped `from`. */
export function unitPixels(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

/** Keeps `limit` members in all, each class in proportion to its size (largest remainder). */
function cap(shares: number[][], limit: number | undefined): number[][] {
  const total = shares.reduce((s, share) => s + share.length, 0);
  if (limit === undefined || limit >= total) return shares;
  const quotas = shares.map((share) => (share.length * limit) / total);
  const keep = quotas.map(Math.floor);
  const byRemainder = quotas
    .map((q, c) => ({ c, r: q - Math.floor(q) }))
    .sort((a, b) => b.r - a.r || a.c - b.c);
  const deficit = limit - keep.reduce((s, k) => s + k, 0);
  for (let i = 0; i < deficit; i++) keep[byRemainder[i]!.c]!++;
  return shares.map((share, c) => share.slice(0, keep[c]));
}
