/**
 * Adversarial masks from eigenvectors (methods page, "Adversarial masks"): if a class's top
 * eigenvectors are what the model reads for that class, a few pixels chosen from them should push
 * images of other classes into it, far more than the same pixels placed at random or noise of the
 * same size.
 *
 * For a target class t, the decoders are its top `decoders` positive eigenvectors as pixel
 * patterns, f_i = Eᵀ v_i (the rows of F). The encoders are the rows of the pseudo-inverse,
 * G = (F Fᵀ)⁻¹ F, so that g_i · f_j = δ_ij: adding g_i to an image moves feature i by one and
 * leaves the other top features where they were. A mask keeps the k largest entries of the first
 * encoder, signed so that it moves feature 1 towards the side where the target's own training
 * images lie, scaled so that its largest pixel is 1; it is added to an image, which is clipped to
 * [0, 1]. Variants: the feature f_1 itself in place of the encoder (does the pseudo-inverse help?),
 * and the encoder restricted to pixels almost never lit in training (mean intensity below
 * `rareBelow`), which the model barely saw.
 *
 * Nulls at equal size: the mask's values at random pixels (of the same support), and noise of the
 * same L2 norm on the same support. The noise is half-normal (|z|): a mask only adds light, and
 * signed noise would lose about half its norm to clipping on the black background, a weaker null
 * than the mask it is set against. The reverse: a mask from the top negative eigenvectors, added
 * to the target's own images, to suppress it.
 */
import { inverse, Matrix } from 'ml-matrix';
import type { ImageSet } from '../data/dataset.ts';
import type { Eigen } from '../decompose/eigen.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { PipelineError } from '../errors.ts';
import { matmul64 } from '../native/matmul64.ts';
import { Rng } from '../util/random.ts';
import { imagePool } from './perturb.ts';
import { mean } from './stats.ts';

export interface MaskSettings {
  /** Classes to push images towards (and to suppress). */
  targets: number[];
  /** Top positive (and, for suppression, negative) eigenvectors of a target used as decoders. */
  decoders: number;
  /** Pixels each mask keeps. */
  ks: number[];
  /** Test images per class that masks are added to. */
  perClass: number;
  /** Draws of the permuted mask and of the noise, per mask. */
  draws: number;
  /** Pixels whose mean training intensity is below this are "rarely on". */
  rareBelow: number;
  seed: number;
}

export const VARIANTS = ['encoder', 'feature', 'rare-pixels'] as const;
export type Variant = (typeof VARIANTS)[number];
export const NULLS = ['mask', 'permuted', 'noise'] as const;
export type MaskNull = (typeof NULLS)[number];

/** One mask (or its null) at one size, on one target's images. */
export interface MaskRow {
  target: number;
  direction: 'push' | 'suppress';
  variant: Variant;
  method: MaskNull;
  k: number;
  /** Push: share of other classes' images classified as the target; suppress: share of the target's no longer so. */
  success: number;
  /** Accuracy on those images before and after (means over draws for the nulls). */
  accuracyBefore: number;
  accuracyAfter: number;
  /** L2 norm of what was added, before clipping. */
  norm: number;
  images: number;
}

export interface MaskResult {
  rows: MaskRow[];
  /** Pixels in the rarely-on support. */
  rarePixels: number;
  /** The masks themselves (push, encoder variant), for figures: [target][k] flattened pixels. */
  masks: Float64Array[][];
  /** The first encoder of each target, signed, for figures. */
  encoders: Float64Array[];
}

/** Refuses settings that cannot be computed, before anything runs. */
export function checkMaskSettings(s: MaskSettings, classes: number, pixels: number, where: string): void {
  const bad = (what: string) => new PipelineError(`${where}: ${what}`, { exitCode: 2 });
  if (s.targets.length === 0) throw bad('no target classes');
  for (const t of s.targets)
    if (!Number.isInteger(t) || t < 0 || t >= classes)
      throw bad(`target class ${t} is not a class of this data set (0 … ${classes - 1})`);
  for (const k of s.ks)
    if (!Number.isInteger(k) || k < 1 || k > pixels)
      throw bad(`a mask of ${k} pixels does not fit an image of ${pixels} pixels (k must be 1 … ${pixels})`);
  if (!Number.isInteger(s.decoders) || s.decoders < 1) throw bad(`decoders must be ≥ 1, got ${s.decoders}`);
  if (!Number.isInteger(s.draws) || s.draws < 1) throw bad(`draws must be ≥ 1, got ${s.draws}`);
  if (!Number.isInteger(s.perClass) || s.perClass < 1) throw bad(`perClass must be ≥ 1, got ${s.perClass}`);
}

/** Eigenvectors `v_i` of the given sign, largest |λ| first, as pixel patterns Eᵀ v_i: rows of F. */
export function decoderRows(layer: BilinearLayer, eig: Eigen, count: number, sign: 1 | -1): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let i = 0; i < eig.n && rows.length < count; i++) {
    if (Math.sign(eig.values[i]!) !== sign) continue;
    const v = eig.vectors.subarray(i * eig.n, (i + 1) * eig.n);
    if (!layer.E) {
      rows.push(Float64Array.from(v));
      continue;
    }
    const f = new Float64Array(layer.input);
    for (let j = 0; j < layer.d; j++)
      for (let p = 0; p < layer.input; p++) f[p] = f[p]! + v[j]! * layer.E[j * layer.input + p]!;
    rows.push(f);
  }
  if (rows.length < count)
    throw new PipelineError(`only ${rows.length} eigenvectors of that sign, ${count} asked for as decoders`);
  return rows;
}

/** The encoders: rows of the pseudo-inverse (F Fᵀ)⁻¹ F of the decoders F, so that G Fᵀ = I. */
export function encoderRows(decoders: Float64Array[]): Float64Array[] {
  const F = new Matrix(decoders.map((r) => Array.from(r)));
  const G = inverse(F.mmul(F.transpose())).mmul(F);
  return G.to2DArray().map((r) => Float64Array.from(r));
}

/**
 * The mask of a signed pattern: its k largest entries on the support (entries ≤ 0 dropped: a mask
 * only adds light), scaled so the largest is 1.
 */
export function topKMask(pattern: Float64Array, k: number, support: number[]): Float64Array {
  const order = [...support].sort((a, b) => pattern[b]! - pattern[a]!).slice(0, k);
  const mask = new Float64Array(pattern.length);
  const top = pattern[order[0]!]!;
  if (!(top > 0)) return mask;
  for (const p of order) if (pattern[p]! > 0) mask[p] = pattern[p]! / top;
  return mask;
}

/** The mask's values moved to random pixels of the support (a uniform shuffle of the support). */
export function permutedMask(mask: Float64Array, support: number[], rng: Rng): Float64Array {
  const targets = rng.shuffle([...support]);
  const out = new Float64Array(mask.length);
  support.forEach((p, i) => (out[targets[i]!] = mask[p]!));
  return out;
}

/** Half-normal noise |z| on the support, scaled to the given L2 norm. */
export function noiseOfNorm(length: number, support: number[], norm: number, rng: Rng): Float64Array {
  const out = new Float64Array(length);
  const z = rng.normalArray(support.length);
  let s = 0;
  support.forEach((p, i) => {
    out[p] = Math.abs(z[i]!);
    s += z[i]! ** 2;
  });
  const scale = s > 0 ? norm / Math.sqrt(s) : 0;
  for (const p of support) out[p]! *= scale;
  return out;
}

function l2(v: Float64Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

/** The predicted class of each row of X (n × input), by the layer's exact float64 forward pass. */
export function predict(layer: BilinearLayer, X: Float64Array, n: number): Uint8Array {
  if (layer.constant) throw new PipelineError('adversarial masks read layers without folded biases');
  const e = layer.E
    ? matmul64(
        { data: X, rows: n, cols: layer.input },
        { data: layer.E, rows: layer.d, cols: layer.input, transpose: true },
      )
    : X;
  const w = matmul64(
    { data: e, rows: n, cols: layer.d },
    { data: layer.W, rows: layer.m, cols: layer.d, transpose: true },
  );
  const v = matmul64(
    { data: e, rows: n, cols: layer.d },
    { data: layer.V, rows: layer.m, cols: layer.d, transpose: true },
  );
  for (let i = 0; i < w.length; i++) w[i]! *= v[i]!;
  const logits = matmul64(
    { data: w, rows: n, cols: layer.m },
    { data: layer.P, rows: layer.c, cols: layer.m, transpose: true },
  );
  const out = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let a = 1; a < layer.c; a++) if (logits[r * layer.c + a]! > logits[r * layer.c + best]!) best = a;
    out[r] = best;
  }
  return out;
}

/** The images at `indices` with `add` added and clipped to [0, 1], as rows. */
function masked(set: ImageSet, indices: number[], add: Float64Array | null): Float64Array {
  const X = new Float64Array(indices.length * set.dim);
  indices.forEach((i, r) => {
    for (let p = 0; p < set.dim; p++) {
      const x = set.images[i * set.dim + p]! + (add ? add[p]! : 0);
      X[r * set.dim + p] = x < 0 ? 0 : x > 1 ? 1 : x;
    }
  });
  return X;
}

/** Mean pixel intensity over (at most `limit`) training images. */
function meanImage(train: ImageSet, limit: number): Float64Array {
  const n = Math.min(limit, train.n);
  const out = new Float64Array(train.dim);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < train.dim; p++) out[p] = out[p]! + train.images[i * train.dim + p]!;
  return out.map((x) => x / n);
}

/** The sign that moves feature f towards the side where the given images lie: sign of mean f·x. */
function sideOf(f: Float64Array, set: ImageSet, keep: (label: number) => boolean, limit: number): 1 | -1 {
  let s = 0;
  let n = 0;
  for (let i = 0; i < set.n && n < limit; i++) {
    if (!keep(set.labels[i]!)) continue;
    for (let p = 0; p < set.dim; p++) s += f[p]! * set.images[i * set.dim + p]!;
    n++;
  }
  return s < 0 ? -1 : 1;
}

export function adversarialMasks(
  layer: BilinearLayer,
  eigs: Eigen[],
  data: { train: ImageSet; test: ImageSet },
  s: MaskSettings,
): MaskResult {
  const { train, test } = data;
  checkMaskSettings(s, layer.c, layer.input, 'adversarial masks');
  const rng = new Rng(s.seed);
  const pool = imagePool(test, layer.c, s.perClass);
  const everyPixel = Array.from({ length: layer.input }, (_, p) => p);
  const brightness = meanImage(train, 10_000);
  const rare = everyPixel.filter((p) => brightness[p]! < s.rareBelow);
  const predicted = predict(layer, masked(test, pool, null), pool.length);
  const correct = new Set(pool.filter((i, r) => predicted[r] === test.labels[i]));
  const rows: MaskRow[] = [];
  const masks: Float64Array[][] = [];
  const encoders: Float64Array[] = [];
  for (const t of s.targets) {
    const eig = eigs[t]!;
    const push = signedPatterns(layer, eig, t, s.decoders, 1, train);
    const suppress = signedPatterns(layer, eig, t, s.decoders, -1, train);
    encoders.push(push.encoder);
    const others = pool.filter((i) => test.labels[i] !== t);
    const own = pool.filter((i) => test.labels[i] === t);
    const score = (indices: number[], direction: 'push' | 'suppress', add: Float64Array) => {
      const after = predict(layer, masked(test, indices, add), indices.length);
      let hit = 0;
      let correct = 0;
      indices.forEach((i, r) => {
        if (direction === 'push' ? after[r] === t : after[r] !== t) hit++;
        if (after[r] === test.labels[i]) correct++;
      });
      return { success: hit / indices.length, accuracy: correct / indices.length };
    };
    const before = (indices: number[]) => indices.filter((i) => correct.has(i)).length / indices.length;
    const run = (
      direction: 'push' | 'suppress',
      variant: Variant,
      pattern: Float64Array,
      support: number[],
      indices: number[],
    ) => {
      const accuracyBefore = before(indices);
      const out: Float64Array[] = [];
      for (const k of s.ks) {
        const mask = topKMask(pattern, Math.min(k, support.length), support);
        out.push(mask);
        const norm = l2(mask);
        const add = (method: MaskNull, adds: Float64Array[]) => {
          const scores = adds.map((a) => score(indices, direction, a));
          rows.push({
            target: t,
            direction,
            variant,
            method,
            k,
            success: mean(scores.map((x) => x.success)),
            accuracyBefore,
            accuracyAfter: mean(scores.map((x) => x.accuracy)),
            norm,
            images: indices.length,
          });
        };
        add('mask', [mask]);
        add(
          'permuted',
          draws(s.draws, () => permutedMask(mask, support, rng)),
        );
        add(
          'noise',
          draws(s.draws, () => noiseOfNorm(layer.input, support, norm, rng)),
        );
      }
      return out;
    };
    masks.push(run('push', 'encoder', push.encoder, everyPixel, others));
    run('push', 'feature', push.feature, everyPixel, others);
    if (rare.length > 0) run('push', 'rare-pixels', push.encoder, rare, others);
    run('suppress', 'encoder', suppress.encoder, everyPixel, own);
  }
  return { rows, rarePixels: rare.length, masks, encoders };
}

/**
 * A target's first encoder and first decoder (feature) for eigenvalues of one sign, each signed
 * towards where the images it should look like lie: the target's own for a push (positive
 * eigenvalues raise its logit), the other classes' for a suppression (negative ones lower it).
 */
function signedPatterns(
  layer: BilinearLayer,
  eig: Eigen,
  t: number,
  count: number,
  sign: 1 | -1,
  train: ImageSet,
): { encoder: Float64Array; feature: Float64Array } {
  const decoders = decoderRows(layer, eig, count, sign);
  const encoder = encoderRows(decoders)[0]!;
  const feature = decoders[0]!;
  const side = sideOf(feature, train, sign === 1 ? (l) => l === t : (l) => l !== t, 2000);
  return { encoder: encoder.map((x) => side * x), feature: feature.map((x) => side * x) };
}

function draws(n: number, make: () => Float64Array): Float64Array[] {
  return Array.from({ length: n }, make);
}
