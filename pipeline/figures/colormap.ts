/**
 * The diverging colour map of every eigenvector image: ColorBrewer RdBu reversed, so positive is
 * red, negative blue and zero the scheme's neutral #f7f7f7. The 11 scheme colours are joined
 * piecewise in Lab space (perceptually even steps; d3's own spline-smoothed RdBu shifts the
 * neutral point to a warm grey). The scale is always symmetric around zero, so white means
 * exactly zero and equal magnitudes get equal saturation whatever their sign.
 */
import { schemeRdBu } from 'd3-scale-chromatic';
import { interpolateLab, piecewise } from 'd3-interpolate';

// Odd, so that zero falls exactly on the middle entry (RdBu's neutral #f7f7f7).
const LEVELS = 255;

/** LEVELS RGB triples from −1 (index 0, blue) to +1 (last index, red). */
const LUT: Uint8Array = (() => {
  const ramp = piecewise(interpolateLab, [...schemeRdBu[11]!].reverse());
  const lut = new Uint8Array(LEVELS * 3);
  for (let i = 0; i < LEVELS; i++) {
    const color = String(ramp(i / (LEVELS - 1))); // "rgb(r, g, b)"
    const [r, g, b] = color.match(/\d+/g)!.map(Number);
    lut.set([r!, g!, b!], i * 3);
  }
  return lut;
})();

/** The RGB colour of t ∈ [−1, 1] (values beyond are clamped). */
export function divergingColor(t: number): [number, number, number] {
  const clamped = Math.max(-1, Math.min(1, t));
  const i = Math.round(((clamped + 1) / 2) * (LEVELS - 1));
  return [LUT[i * 3]!, LUT[i * 3 + 1]!, LUT[i * 3 + 2]!];
}

/** Maps values to RGB pixels with the symmetric scale [−limit, +limit]. */
export function colorize(values: ArrayLike<number>, limit: number): Uint8Array {
  if (!(limit > 0)) throw new Error(`colour scale limit must be positive, got ${limit}`);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) out.set(divergingColor(values[i]! / limit), i * 3);
  return out;
}

export function hex([r, g, b]: [number, number, number]): string {
  return `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}
