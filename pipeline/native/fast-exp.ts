/**
 * native/fast_exp.h's e^x in TypeScript, float32 operation for operation (each rounded with
 * Math.fround), so that a portable twin of a native kernel can give the same bits: x clamped to
 * [−87.3, 88.7], n = round(x / ln 2) by adding and subtracting 1.5 · 2²³, r = x − n ln 2 in two
 * parts, e^r by Cephes' polynomial for expf, times 2ⁿ. Within 2 ulp of e^x (rounded to float32).
 */
const f = Math.fround;
const [LOG2E, SHIFT, LN2_HI, LN2_LO] = [f(Math.LOG2E), f(12582912), f(0.693359375), f(-2.1219444e-4)];
const P = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
].map(f);

export function expVec(x: number): number {
  x = x < f(-87.3) ? f(-87.3) : x > f(88.7) ? f(88.7) : f(x);
  const n = f(f(f(x * LOG2E) + SHIFT) - SHIFT);
  const r = f(f(x - f(n * LN2_HI)) - f(n * LN2_LO));
  let p = P[0]!;
  for (let i = 1; i < P.length; i++) p = f(f(p * r) + P[i]!);
  const y = f(f(f(p * f(r * r)) + r) + 1);
  return f(y * 2 ** n);
}
