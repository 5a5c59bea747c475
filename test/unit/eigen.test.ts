/**
 * The canonical eigendecomposition: the defining equations on seeded random symmetric matrices,
 * the documented order and sign, and closed forms.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eigenvector, signOfLargest, symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

for (const n of [1, 2, 5, 17, 40]) {
  test(`Σ λ_i v_i v_iᵀ reconstructs Q, VᵀV = I, |λ| descending, signs fixed (n = ${n})`, () => {
    const q = randomSymmetric(n, n);
    const eig = symmetricEigen(q, n);
    const rebuilt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const v = eigenvector(eig, i);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < n; c++) rebuilt[r * n + c]! += eig.values[i]! * v[r]! * v[c]!;
    }
    assertClose(rebuilt, q, { atol: 1e-10 * n, label: 'reconstruction' });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const dotij = Array.from(eigenvector(eig, i)).reduce((s, x, k) => s + x * eig.vectors[j * n + k]!, 0);
        assertClose(dotij, i === j ? 1 : 0, { atol: 1e-10, label: `v${i}·v${j}` });
      }
      if (i > 0)
        assert.ok(Math.abs(eig.values[i - 1]!) >= Math.abs(eig.values[i]!), `|λ| not descending at ${i}`);
      assert.equal(
        signOfLargest(eigenvector(eig, i)),
        1,
        `eigenvector ${i}: largest component is not positive`,
      );
    }
  });
}

test('closed form: a diagonal matrix gives its diagonal sorted by |λ| and signed unit vectors', () => {
  const q = Float64Array.from([1, 0, 0, 0, -5, 0, 0, 0, 3]);
  const eig = symmetricEigen(q, 3);
  assertClose(eig.values, [-5, 3, 1], { atol: 1e-14, label: 'λ' });
  assertClose(eigenvector(eig, 0), [0, 1, 0], { atol: 1e-14, label: 'v0' });
  assertClose(eigenvector(eig, 1), [0, 0, 1], { atol: 1e-14, label: 'v1' });
});

test('closed form: [[a, b], [b, a]] has eigenvalues a ± b on (1, ±1)/√2', () => {
  const [a, b] = [2, -3];
  const eig = symmetricEigen(Float64Array.from([a, b, b, a]), 2);
  assertClose(eig.values, [a - b, a + b], { atol: 1e-14, label: 'λ' }); // 5 before −1: by |λ|
  // λ = a − b = 5 has eigenvector (1, −1)/√2; the sign rule picks the first of the tied components
  assertClose(eigenvector(eig, 0), [Math.SQRT1_2, -Math.SQRT1_2], { atol: 1e-14, label: 'v0' });
});

test('ties in |λ| put the positive eigenvalue first', () => {
  const eig = symmetricEigen(Float64Array.from([-2, 0, 0, 2]), 2);
  assertClose(eig.values, [2, -2], { atol: 1e-14, label: 'λ' });
});

test('a matrix that is symmetric only up to rounding is symmetrised, not sent down the general path', () => {
  const q = randomSymmetric(6, 9);
  q[1] = q[1]! + 1e-13; // breaks exact symmetry
  const eig = symmetricEigen(q, 6);
  // the result is the decomposition of (Q + Qᵀ)/2: real, orthonormal, and reconstructing it
  const sym = Float64Array.from(q);
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < 6; j++) sym[i * 6 + j] = (q[i * 6 + j]! + q[j * 6 + i]!) / 2;
  const rebuilt = new Float64Array(36);
  for (let k = 0; k < 6; k++) {
    const v = eigenvector(eig, k);
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) rebuilt[i * 6 + j]! += eig.values[k]! * v[i]! * v[j]!;
  }
  assertClose(rebuilt, sym, { atol: 1e-12, label: 'reconstruction of the symmetric part' });
});
