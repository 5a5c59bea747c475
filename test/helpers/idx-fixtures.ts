/** Small IDX data sets written on the fly: tiny MNIST-format files, good and broken. */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../pipeline/data/idx.ts';
import { Rng } from '../../pipeline/util/random.ts';

/** n images of side×side (28 unless given) and their labels (cycling through 10 classes) as IDX bytes. */
export function idxPair(n: number, seed: number, side = 28): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const pixels = Uint8Array.from({ length: n * side * side }, () => rng.int(256));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images: encodeIdx([n, side, side], pixels), labels: encodeIdx([n], labels) };
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

/** A directory `to` (created) of symbolic links to the files of `from`, but for those in `except`. */
export function linkDirectory(from: string, to: string, except: string[] = []): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from))
    if (!except.includes(name)) symlinkSync(join(from, name), join(to, name));
}

/**
 * A copy of the directory `from` in `to` in which `file` has the byte at `offset` flipped
 * (XOR 0xff); the other files are symbolic links to the originals (no 55 MB copies). Returns the
 * corrupted file's bytes.
 */
export function copyWithFlippedByte(from: string, to: string, file: string, offset: number): Uint8Array {
  linkDirectory(from, to, [file]);
  const bytes = new Uint8Array(readFileSync(join(from, file)));
  if (offset >= bytes.length)
    throw new Error(`${file} has ${bytes.length} bytes; cannot flip byte ${offset}`);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(join(to, file), bytes);
  return bytes;
}
