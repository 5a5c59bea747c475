/**
 * Gaussian noise for training (input and latent noise): the seeded stream of
 * `new Rng(seed).normalArray(n, std)` (util/random.ts), drawn in C by the native addon when its
 * kernels are active, else in JavaScript. Either way it is the project's own seeded generator, not
 * TensorFlow.js's `randomNormal` (its own generator, and no faster); `npm run bench` times the
 * three side by side.
 */
import { Rng } from '../util/random.ts';
import { loadNative } from './addon.ts';
import { nativeMatMulEnabled } from './kernels.ts';

export function gaussian(n: number, std: number, seed: number): Float32Array {
  // A diverging run's spread is not finite: its noise is NaN, as the JavaScript stream's would be,
  // so the loss turns NaN and the trainer stops the run with its message.
  if (!Number.isFinite(std)) return new Float32Array(n).fill(Number.NaN);
  const addon = nativeMatMulEnabled() ? loadNative() : null;
  if (!addon) return new Rng(seed).normalArray(n, std);
  const out = new Float32Array(n);
  addon.normals(out, seed >>> 0, std);
  return out;
}
