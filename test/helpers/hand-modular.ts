/**
 * A bilinear classifier of modular addition built by hand from known frequencies (no training):
 * for each frequency f with amplitude α, four hidden units over x = onehot(a) ⊕ onehot(b),
 *
 *   cos fa · cos fb,  sin fa · sin fb,  sin fa · cos fb,  cos fa · sin fb   (f read as 2πf/P)
 *
 * read out to residue c with weights α cos fc, −α cos fc, α sin fc, α sin fc, so that
 * logit_c(a, b) = Σ_f α_f cos(f (a + b − c)): largest at c = (a + b) mod P. Each Q_c then lies
 * in the cos/sin subspaces of the chosen frequencies, with eigenvalues ±α_f / 2, each twice.
 */
import type { Weights } from '../../pipeline/models/kind.ts';

export function handModularWeights(P: number, parts: { frequency: number; amplitude: number }[]): Weights {
  const m = 4 * parts.length;
  const d = 2 * P;
  const W = new Float32Array(m * d);
  const V = new Float32Array(m * d);
  const out = new Float32Array(P * m);
  const cos = (f: number, t: number) => Math.cos((2 * Math.PI * f * t) / P);
  const sin = (f: number, t: number) => Math.sin((2 * Math.PI * f * t) / P);
  parts.forEach(({ frequency: f, amplitude }, k) => {
    // [left factor over a, right factor over b, readout to c]
    const units: [typeof cos, typeof cos, (c: number) => number][] = [
      [cos, cos, (c) => amplitude * cos(f, c)],
      [sin, sin, (c) => -amplitude * cos(f, c)],
      [sin, cos, (c) => amplitude * sin(f, c)],
      [cos, sin, (c) => amplitude * sin(f, c)],
    ];
    units.forEach(([left, right, readout], j) => {
      const h = 4 * k + j;
      for (let t = 0; t < P; t++) {
        W[h * d + t] = left(f, t);
        V[h * d + P + t] = right(f, t);
      }
      for (let c = 0; c < P; c++) out[c * m + h] = readout(c);
    });
  });
  return { W, V, P: out };
}
