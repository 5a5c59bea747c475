/**
 * Modular addition as a classification data set: every pair (a, b) of residues mod P, labelled
 * (a + b) mod P. An input is the two tokens one-hot and concatenated, onehot(a) ⊕ onehot(b), a
 * vector of 2P zeros and two ones, so that a bilinear classifier without an embedding reads the
 * tokens directly and its interaction matrices live in token space (a's P rows, then b's P).
 *
 * The P² pairs are shuffled (seeded) and split: `trainFraction` of them train the model, the rest
 * are held out and split evenly into a validation half (the training curves: when the model
 * generalises) and a test half (read once, for the final numbers). Nothing is read from disk.
 */
import { createHash } from 'node:crypto';
import { artifact } from '../cache/artifact.ts';
import { defineJob, type Job } from '../cache/job.ts';
import { PipelineError } from '../errors.ts';
import { tensor } from '../tensors/safetensors.ts';
import { Rng } from '../util/random.ts';
import type { DataMeta } from './job.ts';

export interface ModularSettings {
  /** The modulus P (the residues are 0 … P − 1); at least 3. */
  modulus: number;
  /** Share of the P² pairs that train the model; the rest are split into validation and test. */
  trainFraction: number;
  seed: number;
}

export type ModularMeta = DataMeta & { modulus: number; pairs: number };

/** The name of the job kind, for readers that accept its artifacts as labelled data. */
export const MODULAR_DATA_KIND = 'data/modular';

/** How many pairs each split gets; refuses a modulus or share that leaves a split empty. */
export function modularSplitSizes(s: ModularSettings): { train: number; validation: number; test: number } {
  if (!Number.isInteger(s.modulus) || s.modulus < 3)
    throw new PipelineError(`modular addition: the modulus P must be a whole number ≥ 3, got ${s.modulus}`, {
      exitCode: 2,
      hint: 'P = 2 has a single nonzero frequency and P = 1 one residue: there is nothing to learn',
    });
  if (s.modulus > 255)
    throw new PipelineError(`modular addition: the modulus P must be at most 255, got ${s.modulus}`, {
      exitCode: 2,
      hint: 'labels are stored as bytes',
    });
  const pairs = s.modulus * s.modulus;
  const train = Math.round(s.trainFraction * pairs);
  const heldOut = pairs - train;
  const validation = Math.floor(heldOut / 2);
  const sizes = { train, validation, test: heldOut - validation };
  if (!(s.trainFraction > 0 && s.trainFraction < 1) || Object.values(sizes).some((n) => n < 1))
    throw new PipelineError(
      `modular addition: a train share of ${s.trainFraction} of the ${pairs} pairs leaves ` +
        `${sizes.train} training, ${sizes.validation} validation and ${sizes.test} test pairs; ` +
        'every split needs at least one',
      { exitCode: 2, hint: 'choose a train share strictly between 0 and 1, or a larger P' },
    );
  return sizes;
}

/** The pair with index i (of P²): a = ⌊i / P⌋, b = i mod P. */
export function pairOf(i: number, modulus: number): [number, number] {
  return [Math.floor(i / modulus), i % modulus];
}

/** onehot(a) ⊕ onehot(b) for each listed pair, and its label (a + b) mod P. */
export function encodePairs(
  indices: number[],
  modulus: number,
): { inputs: Float32Array; labels: Uint8Array } {
  const dim = 2 * modulus;
  const inputs = new Float32Array(indices.length * dim);
  const labels = new Uint8Array(indices.length);
  indices.forEach((i, r) => {
    const [a, b] = pairOf(i, modulus);
    inputs[r * dim + a] = 1;
    inputs[r * dim + modulus + b] = 1;
    labels[r] = (a + b) % modulus;
  });
  return { inputs, labels };
}

const modularData = defineJob<ModularMeta, Record<string, never>, ModularSettings>({
  name: MODULAR_DATA_KIND,
  stage: 'data',
  module: import.meta.url,
  run: async (_ctx, _inputs, s) => {
    const sizes = modularSplitSizes(s);
    const P = s.modulus;
    const order = new Rng(s.seed).shuffle(Array.from({ length: P * P }, (_, i) => i));
    const parts = {
      train: order.slice(0, sizes.train),
      validation: order.slice(sizes.train, sizes.train + sizes.validation),
      test: order.slice(sizes.train + sizes.validation),
    };
    const tensors: Record<string, ReturnType<typeof tensor>> = {};
    const hash = createHash('sha256');
    for (const [name, indices] of Object.entries(parts)) {
      const { inputs, labels } = encodePairs(indices, P);
      tensors[`${name}.images`] = tensor(inputs, [indices.length, 2 * P]);
      tensors[`${name}.labels`] = tensor(labels, [indices.length]);
      hash.update(`${name}:${indices.join(',')};`);
    }
    const meta: ModularMeta = {
      name: 'modular-addition',
      source: `generated: all ${P}² pairs (a, b) of residues mod ${P}, labelled (a + b) mod ${P}`,
      hash: hash.digest('hex'),
      classNames: Array.from({ length: P }, (_, c) => String(c)),
      // an input is one row: a's one-hot, then b's
      height: 1,
      width: 2 * P,
      trainSize: sizes.train,
      validationSize: sizes.validation,
      testSize: sizes.test,
      modulus: P,
      pairs: P * P,
    };
    return artifact({ meta, tensors });
  },
});

/** The modular-addition data set; bad settings are refused here, before anything is cached. */
export function modularDataJob(settings: ModularSettings): Job<ModularMeta> {
  modularSplitSizes(settings);
  return modularData.create(`modular-addition-${settings.modulus}`, {}, { ...settings });
}
