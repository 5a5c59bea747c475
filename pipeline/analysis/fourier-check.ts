/**
 * The Fourier check of a modular-addition model (methods page, "Fourier share"): are the top
 * eigenvectors of each residue's interaction matrix Fourier components of the tokens, as the
 * algorithm known from the grokking literature predicts?
 *
 * For each residue c, the top `top` eigenvectors of Q_c by |λ|, each over a's tokens then b's:
 * the share of its norm in its best frequency. Two nulls get the same statistic: random unit
 * vectors of the same length (chance), and the same eigenvectors with their tokens shuffled (a
 * fixed random permutation of a's tokens and one of b's: every entry kept, the order that makes a
 * frequency destroyed). Which frequencies the model uses is read from the matrices themselves:
 * each frequency's share of Σ_c ‖Q_c‖²_F.
 */
import type { Eigen } from '../decompose/eigen.ts';
import {
  bestFrequency,
  fourierBasis,
  frequencyShares,
  matrixFrequencyShares,
  type FourierBasis,
} from '../decompose/fourier.ts';
import { interactionMatrix, oneHot } from '../decompose/interaction.ts';
import type { BilinearLayer } from '../decompose/layer.ts';
import { PipelineError } from '../errors.ts';
import { Rng } from '../util/random.ts';
import { mean, nestedInterval, tInterval, type Interval } from './stats.ts';

export interface FourierSettings {
  /** Eigenvectors per residue, by |λ|. */
  top: number;
  /** Random unit vectors drawn for the chance level. */
  chanceDraws: number;
  seed: number;
}

export interface TopVector {
  rank: number;
  eigenvalue: number;
  frequency: number;
  share: number;
  /** The best share of the same vector with its tokens shuffled. */
  shuffledShare: number;
}

export interface FourierCheck {
  modulus: number;
  top: number;
  frequencies: number[];
  /** Per residue: its top eigenvectors, and each frequency's share of ‖Q_c‖²_F. */
  residues: { residue: number; vectors: TopVector[]; energy: number[] }[];
  /** Each frequency's share of Σ_c ‖Q_c‖²_F. */
  energy: number[];
  /** Frequencies ≥ 1 holding at least twice a uniform share of that energy, largest first. */
  keyFrequencies: number[];
  /** The mean best-frequency share of the top eigenvectors: t interval over residues. */
  share: Interval;
  /** The same for the shuffled eigenvectors: t interval over residues. */
  shuffled: Interval;
  /** The best-frequency share of random unit vectors: t interval over draws. */
  chance: Interval;
}

/** The modulus of a layer read over two one-hot tokens: d = 2P, c = P. */
export function modulusOf(layer: BilinearLayer): number {
  if (layer.E !== null || layer.d !== 2 * layer.c || layer.constant)
    throw new PipelineError(
      `the Fourier check reads a bilinear layer over two one-hot tokens mod P (d = 2P inputs, ` +
        `c = P outputs, no embedding or bias); this one has d = ${layer.d}, c = ${layer.c}` +
        `${layer.E ? ', an embedding' : ''}${layer.constant ? ', biases' : ''}`,
    );
  return layer.c;
}

export function fourierCheck(layer: BilinearLayer, eigs: Eigen[], s: FourierSettings): FourierCheck {
  const P = modulusOf(layer);
  if (!Number.isInteger(s.top) || s.top < 1 || s.top > 2 * P)
    throw new PipelineError(`Fourier check: top must be a whole number in [1, ${2 * P}], got ${s.top}`, {
      exitCode: 2,
    });
  if (eigs.length !== P) throw new Error(`Fourier check: ${eigs.length} decompositions for ${P} residues`);
  const basis = fourierBasis(P);
  const rng = new Rng(s.seed);
  const shuffle = [rng.shuffle(range(P)), rng.shuffle(range(P))];
  const shuffled = (v: Float64Array) =>
    Float64Array.from({ length: 2 * P }, (_, i) => v[(i < P ? 0 : P) + shuffle[i < P ? 0 : 1]![i % P]!]!);
  const F = basis.frequencies.length;
  const energy = new Float64Array(F);
  let total = 0;
  const residues = eigs.map((eig, c) => {
    const q = interactionMatrix(layer, oneHot(P, c));
    const norm2 = q.reduce((sum, x) => sum + x * x, 0);
    const shares = matrixFrequencyShares(basis, q);
    shares.forEach((x, f) => (energy[f] = energy[f]! + x * norm2));
    total += norm2;
    const vectors = Array.from({ length: s.top }, (_, i) => {
      const v = eig.vectors.subarray(i * eig.n, (i + 1) * eig.n);
      const best = bestFrequency(frequencyShares(basis, v));
      return {
        rank: i + 1,
        eigenvalue: eig.values[i]!,
        frequency: best.frequency,
        share: best.share,
        shuffledShare: bestFrequency(frequencyShares(basis, shuffled(v))).share,
      };
    });
    return { residue: c, vectors, energy: Array.from(shares) };
  });
  const overall = Array.from(energy, (x) => (total > 0 ? x / total : 0));
  const perResidue = (pick: (v: TopVector) => number) =>
    tInterval(residues.map((r) => mean(r.vectors.map(pick))));
  return {
    modulus: P,
    top: s.top,
    frequencies: basis.frequencies,
    residues,
    energy: overall,
    keyFrequencies: keyFrequencies(overall),
    share: perResidue((v) => v.share),
    shuffled: perResidue((v) => v.shuffledShare),
    chance: tInterval(chanceShares(basis, s.chanceDraws, new Rng(s.seed + 1))),
  };
}

/** Frequencies ≥ 1 whose share is at least twice the uniform 1/F, largest share first. */
export function keyFrequencies(energy: number[]): number[] {
  const floor = 2 / energy.length;
  return energy
    .map((share, f) => ({ f, share }))
    .filter((x) => x.f > 0 && x.share >= floor)
    .sort((a, b) => b.share - a.share)
    .map((x) => x.f);
}

/** Best-frequency shares of random unit vectors over both tokens (Gaussian, normalised). */
export function chanceShares(basis: FourierBasis, draws: number, rng: Rng): number[] {
  return Array.from({ length: draws }, () => {
    const v = Float64Array.from(rng.normalArray(2 * basis.modulus));
    return bestFrequency(frequencyShares(basis, v)).share;
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Over several seeds' checks: the mean best-frequency share of the top eigenvectors and of their
 * shuffled twins, each residue's vectors averaged first, residues nested in seeds.
 */
export function sharesOverSeeds(checks: FourierCheck[]): { eigen: Interval; shuffled: Interval } {
  const nested = (pick: (v: TopVector) => number) =>
    nestedInterval(checks.map((c) => c.residues.map((r) => mean(r.vectors.map(pick)))));
  return { eigen: nested((v) => v.share), shuffled: nested((v) => v.shuffledShare) };
}

/** The first evaluated step at which a split's accuracy reached 99%, or null. */
export function firstAbove99(
  history: { step: number; train: Record<string, number>; validation: Record<string, number> }[],
  split: 'train' | 'validation',
): number | null {
  return history.find((h) => h[split]['accuracy']! >= 0.99)?.step ?? null;
}
