/**
 * The identity the whole method rests on: uᵀ out(x) = eᵀ Q_u e (paper §3.1), checked on random
 * layers with and without an embedding, for one-hot, difference and arbitrary directions; and
 * the bad inputs that the engine refuses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embed, layerOutput, bilinearLayer } from '../../pipeline/decompose/layer.ts';
import {
  interactionMatrix,
  interactionTensor,
  oneHot,
  quadraticForm,
} from '../../pipeline/decompose/interaction.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { randomLayer, randomVector } from '../helpers/random-layer.ts';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);

for (const [name, shape] of [
  ['no embedding', { d: 12, m: 9, c: 4 }],
  ['with embedding', { d: 7, m: 11, c: 5, input: 20 }],
  ['m < d (low rank)', { d: 16, m: 3, c: 3 }],
] as const) {
  test(`uᵀ out(x) = eᵀ Q_u e on a random layer, ${name}`, () => {
    const layer = randomLayer(1, shape);
    const rng = new Rng(2);
    const directions = [
      oneHot(layer.c, 0),
      Float64Array.from(oneHot(layer.c, 1), (x, i) => x - (i === 2 ? 1 : 0)),
      randomVector(rng, layer.c),
    ];
    for (const u of directions) {
      const q = interactionMatrix(layer, u);
      for (let trial = 0; trial < 5; trial++) {
        const x = randomVector(rng, layer.input);
        const expected = dot(u, layerOutput(layer, x));
        // float64 throughout: agreement to ~1e-12 relative to the size of the terms
        assertClose(quadraticForm(q, embed(layer, x)), expected, { atol: 1e-10, rtol: 1e-10, label: 'eᵀQe' });
      }
    }
  });
}

test('Q_u is exactly symmetric and linear in u', () => {
  const layer = randomLayer(3, { d: 10, m: 8, c: 4 });
  const rng = new Rng(4);
  const u = randomVector(rng, 4);
  const q = interactionMatrix(layer, u);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) assert.equal(q[i * 10 + j], q[j * 10 + i]);
  const B = interactionTensor(layer);
  const combined = new Float64Array(100);
  B.forEach((b, a) => b.forEach((x, k) => (combined[k]! += u[a]! * x)));
  assertClose(q, combined, { atol: 1e-12, rtol: 1e-12, label: 'Σ u_a B[a]' });
});

test('the engine refuses mismatched shapes, naming them', () => {
  const m = (rows: number, cols: number) => ({ data: new Float64Array(rows * cols), rows, cols });
  assert.throws(() => bilinearLayer({ W: m(4, 3), V: m(4, 2), P: m(2, 4) }), /W is 4×3 but V is 4×2/);
  assert.throws(() => bilinearLayer({ W: m(4, 3), V: m(4, 3), P: m(2, 5) }), /P is 2×5 but W has m = 4/);
  assert.throws(
    () => bilinearLayer({ W: m(4, 3), V: m(4, 3), P: m(2, 4), E: m(5, 10) }),
    /E is 5×10 but W has d = 3/,
  );
  const layer = randomLayer(5, { d: 3, m: 4, c: 2 });
  assert.throws(() => interactionMatrix(layer, [1, 0, 0]), /length 3, the layer has c = 2/);
});

test('the engine refuses NaN and Infinity weights, naming the tensor', () => {
  const m = (rows: number, cols: number) => ({ data: new Float64Array(rows * cols), rows, cols });
  const V = m(4, 3);
  V.data[5] = Number.NaN;
  assert.throws(
    () => bilinearLayer({ W: m(4, 3), V, P: m(2, 4) }),
    /V has a non-finite value \(NaN\) at \[1, 2\]/,
  );
  const P = m(2, 4);
  P.data[0] = Number.POSITIVE_INFINITY;
  assert.throws(() => bilinearLayer({ W: m(4, 3), V: m(4, 3), P }), /P has a non-finite value \(Infinity\)/);
});
