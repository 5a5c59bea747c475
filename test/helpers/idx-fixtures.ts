/** Small IDX data sets written on the fly: tiny MNIST-format files, good and broken. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../pipeline/data/idx.ts';
import { Rng } from '../../pipeline/util/random.ts';

/** n images of 28×28 and their labels (cycling through 10 classes) as IDX bytes. */
export function idxPair(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const pixels = Uint8Array.from({ length: n * 784 }, () => rng.int(256));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images: encodeIdx([n, 28, 28], pixels), labels: encodeIdx([n], labels) };
}

/** A directory with the four standard files (gzipped), n training and m test images. */
export function writeIdxDirectory(dir: string, n = 40, m = 20): Record<string, Uint8Array> {
  mkdirSync(dir, { recursive: true });
  const train = idxPair(n, 1);
  const test = idxPair(m, 2);
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte.gz': gzipSync(train.images),
    'train-labels-idx1-ubyte.gz': gzipSync(train.labels),
    't10k-images-idx3-ubyte.gz': gzipSync(test.images),
    't10k-labels-idx1-ubyte.gz': gzipSync(test.labels),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return files;
}
