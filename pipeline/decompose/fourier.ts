/**
 * The Fourier basis of Z_P, and how much of a vector over tokens (or of an interaction matrix over
 * two tokens) lies in each frequency (methods page, "Fourier share").
 *
 * The basis is orthonormal, its rows interleaved by frequency: the constant 1/√P (frequency 0);
 * then for f = 1 … ⌊(P − 1)/2⌋ the pair √(2/P) cos(2π f t / P), √(2/P) sin(2π f t / P); and for
 * even P the alternating (−1)^t / √P (frequency P/2, which has no sine). A vector over the
 * tokens of a and of b (length 2P: a's P entries, then b's) is projected half by half, and a
 * frequency's share is the squared norm of its cos and sin coefficients in both halves, over the
 * vector's squared norm: the shares sum to 1, and a vector built from one frequency has share 1
 * in it whatever its phase.
 */

export interface FourierBasis {
  modulus: number;
  /** (P, P) row-major; row r is basis vector r. */
  rows: Float64Array;
  /** The frequency of each row. */
  frequencyOf: number[];
  /** The frequencies 0 … ⌊P/2⌋, in order. */
  frequencies: number[];
}

export function fourierBasis(modulus: number): FourierBasis {
  const P = modulus;
  if (!Number.isInteger(P) || P < 2) throw new Error(`the Fourier basis needs a modulus ≥ 2, got ${P}`);
  const rows = new Float64Array(P * P);
  const frequencyOf: number[] = [];
  const put = (f: number, value: (t: number) => number) => {
    const r = frequencyOf.length;
    for (let t = 0; t < P; t++) rows[r * P + t] = value(t);
    frequencyOf.push(f);
  };
  put(0, () => 1 / Math.sqrt(P));
  for (let f = 1; 2 * f < P; f++) {
    const angle = (t: number) => (2 * Math.PI * f * t) / P;
    put(f, (t) => Math.sqrt(2 / P) * Math.cos(angle(t)));
    put(f, (t) => Math.sqrt(2 / P) * Math.sin(angle(t)));
  }
  if (P % 2 === 0) put(P / 2, (t) => (t % 2 === 0 ? 1 : -1) / Math.sqrt(P));
  return { modulus: P, rows, frequencyOf, frequencies: [...new Set(frequencyOf)] };
}

/** The coefficients of a vector over P tokens in the basis: (P). */
export function fourierCoefficients(basis: FourierBasis, v: ArrayLike<number>, offset = 0): Float64Array {
  const P = basis.modulus;
  const out = new Float64Array(P);
  for (let r = 0; r < P; r++) {
    let s = 0;
    for (let t = 0; t < P; t++) s += basis.rows[r * P + t]! * v[offset + t]!;
    out[r] = s;
  }
  return out;
}

/** Each token half of v (length P or 2P), in Fourier coefficients: [a's P, b's P]. */
function halves(basis: FourierBasis, v: ArrayLike<number>): Float64Array[] {
  const P = basis.modulus;
  if (v.length !== P && v.length !== 2 * P)
    throw new Error(`a vector over Z_${P} tokens has ${P} or ${2 * P} entries, got ${v.length}`);
  return v.length === P
    ? [fourierCoefficients(basis, v)]
    : [fourierCoefficients(basis, v), fourierCoefficients(basis, v, P)];
}

/**
 * The share of ‖v‖² in each frequency (indexed by frequency, 0 … ⌊P/2⌋), both token halves
 * together. A zero vector has no shares: it is refused.
 */
export function frequencyShares(basis: FourierBasis, v: ArrayLike<number>): Float64Array {
  const shares = new Float64Array(basis.frequencies.length);
  let total = 0;
  for (const coeffs of halves(basis, v))
    coeffs.forEach((x, r) => {
      const f = basis.frequencyOf[r]!;
      shares[f] = shares[f]! + x * x;
      total += x * x;
    });
  if (!(total > 0)) throw new Error('a zero vector has no Fourier shares');
  for (let f = 0; f < shares.length; f++) shares[f]! /= total;
  return shares;
}

/** The frequency holding the largest share, and that share. */
export function bestFrequency(shares: ArrayLike<number>): { frequency: number; share: number } {
  let best = 0;
  for (let f = 1; f < shares.length; f++) if (shares[f]! > shares[best]!) best = f;
  return { frequency: best, share: shares[best]! };
}

/**
 * The share of ‖Q‖²_F (Q: (2P, 2P) over a's and b's tokens) within each frequency: Q written in
 * the Fourier basis of both halves, B Q Bᵀ with B = diag(F, F), and the squares of the entries
 * whose row and column are both of frequency f, over all squares. Entries coupling two different
 * frequencies count in no frequency, so the shares sum to at most 1.
 */
export function matrixFrequencyShares(basis: FourierBasis, q: ArrayLike<number>): Float64Array {
  const P = basis.modulus;
  const n = 2 * P;
  if (q.length !== n * n) throw new Error(`Q over two Z_${P} tokens is ${n}×${n}, got ${q.length} entries`);
  // rows of B Q: each row of Q's columns transformed, then each column
  const freq = (i: number) => basis.frequencyOf[i % P]!;
  const qb = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: n }, (_, j) => q[i * n + j]!);
    halves(basis, row).forEach((c, h) => qb.set(c, i * n + h * P));
  }
  const shares = new Float64Array(basis.frequencies.length);
  let total = 0;
  for (let j = 0; j < n; j++) {
    const col = Array.from({ length: n }, (_, i) => qb[i * n + j]!);
    for (const c of halves(basis, col))
      c.forEach((x, r) => {
        total += x * x;
        if (freq(r) === freq(j)) shares[freq(j)] = shares[freq(j)]! + x * x;
      });
  }
  if (!(total > 0)) return shares;
  for (let f = 0; f < shares.length; f++) shares[f]! /= total;
  return shares;
}
