/** Explanations add up exactly; the perturbation check tells a model's real features from chance. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contributions, explain } from '../../pipeline/analysis/explain.ts';
import { orthonormalBasis, perturbationCheck } from '../../pipeline/analysis/perturb.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { interactionMatrix, oneHot } from '../../pipeline/decompose/interaction.ts';
import { bilinearLayer, embed, layerOutput } from '../../pipeline/decompose/layer.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { randomLayer, randomVector } from '../helpers/random-layer.ts';

test('an explanation splits each logit exactly into eigenvector contributions', () => {
  const layer = randomLayer(31, { d: 9, m: 7, c: 4, input: 16 });
  const eigs = Array.from({ length: 4 }, (_, a) => symmetricEigen(interactionMatrix(layer, oneHot(4, a)), 9));
  const x = randomVector(new Rng(2), 16);
  const { logits, classes } = explain(layer, eigs, x, 3, 2);
  assertClose(logits, layerOutput(layer, x), { atol: 1e-10, rtol: 1e-10, label: 'logits' });
  const sum = contributions(eigs[0]!, embed(layer, x)).reduce((s, c) => s + c.contribution, 0);
  assertClose(sum, logits[0]!, { atol: 1e-10, rtol: 1e-10, label: 'Σ contributions' });
  assert.deepEqual(
    classes.map((c) => c.class),
    logits
      .map((l, a) => ({ l, a }))
      .sort((p, q) => q.l - p.l)
      .slice(0, 3)
      .map((p) => p.a),
  );
  for (const c of classes) {
    assert.ok(
      Math.abs(c.top[0]!.contribution) >= Math.abs(c.top[1]!.contribution),
      'top contributions by magnitude',
    );
    assertClose(
      c.top.reduce((s, t) => s + t.contribution, c.rest),
      c.logit,
      { atol: 1e-10, rtol: 1e-10, label: 'top + rest' },
    );
  }
});

test("the perturbation check: moving along a class's eigenvectors flips it; random directions do not", () => {
  // Class a's logit is (g_a · x)² for orthonormal g_a in 20 dimensions: its top eigenvector is g_a.
  // Images are 3 g_label + 2 g_next + noise: logits ≈ 9 for the label, 4 for the next class.
  const rng = new Rng(6);
  const [dim, c] = [20, 3];
  const G = Float64Array.from({ length: c * dim }, (_, i) => (i % dim === Math.floor(i / dim) * 5 ? 1 : 0));
  const layer = bilinearLayer({
    W: { data: G, rows: c, cols: dim },
    V: { data: G, rows: c, cols: dim },
    P: { data: Float64Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0)), rows: 3, cols: 3 },
  });
  const make = (n: number) => {
    const labels = Uint8Array.from({ length: n }, (_, i) => i % c);
    const images = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) {
      for (let p = 0; p < dim; p++)
        images[r * dim + p] =
          0.1 * rng.normal() + (p === labels[r]! * 5 ? 3 : 0) + (p === ((labels[r]! + 1) % c) * 5 ? 2 : 0);
    }
    return imageSet(images, labels, dim);
  };
  const eigs = Array.from({ length: c }, (_, a) =>
    symmetricEigen(interactionMatrix(layer, oneHot(c, a)), dim),
  );
  // Moving by ε = 3 along g_a takes the projection to 0; beyond, a quadratic feature returns.
  const settings = {
    epsilons: [0, 1.5, 3],
    perClass: 10,
    directions: 1,
    randomDraws: 8,
    pcaSample: 60,
    seed: 1,
  };
  const { summary, units } = perturbationCheck(layer, eigs, make(60), make(60), settings);
  const at = (method: string, eps: number) => summary.find((r) => r.method === method && r.epsilon === eps)!;
  assert.equal(at('eigen', 0).targetMisclassification.mean, 0, 'nothing is misclassified before moving');
  assert.equal(at('eigen', 3).targetMisclassification.mean, 1, 'moving 3 along g_a removes the class');
  assert.ok(
    at('random', 3).targetMisclassification.mean < 0.3,
    `random directions flipped ${at('random', 3).targetMisclassification.mean}`,
  );
  assert.ok(
    at('eigen', 3).offTargetAccuracy.mean > 0.6,
    `other classes kept ${at('eigen', 3).offTargetAccuracy.mean}`,
  );
  assert.equal(units.filter((u) => u.method === 'random').length, c * 8);
  // intervals are over the 3 target classes, each class's 8 draws averaged first
  assert.equal(at('random', 3).targetMisclassification.n, c);
  assert.equal(at('random', 3).targetMisclassification.method, 'nested');
  // another class's eigenvector moves the image along g_b: the target class survives
  assert.equal(units.filter((u) => u.method === 'other-class').length, c * (c - 1));
  assert.ok(
    at('other-class', 3).targetMisclassification.mean < 0.3,
    `another class's eigenvectors flipped ${at('other-class', 3).targetMisclassification.mean}`,
  );
});

test('direction sets are orthonormalised: the projection onto a non-orthogonal span is exact', () => {
  const rng = new Rng(3);
  const a = Float64Array.from({ length: 12 }, () => rng.normal());
  const b = Float64Array.from(a, (x, i) => 0.9 * x + (i === 0 ? 1 : 0)); // |cos(a, b)| close to 1
  const q = orthonormalBasis([a, b]);
  const dot = (x: ArrayLike<number>, y: ArrayLike<number>) =>
    Array.from(x).reduce((s, v, i) => s + v * y[i]!, 0);
  assertClose([dot(q[0]!, q[0]!), dot(q[1]!, q[1]!), dot(q[0]!, q[1]!)], [1, 1, 0], {
    atol: 1e-12,
    label: 'orthonormal',
  });
  // x in span(a, b) is its own projection; Σ (q·x) q recovers it, where Σ (s·x) s/|s|² would not
  const x = Float64Array.from(a, (v, i) => 2 * v - 3 * b[i]!);
  const projected = Float64Array.from(x, (_, i) => dot(q[0]!, x) * q[0]![i]! + dot(q[1]!, x) * q[1]![i]!);
  assertClose(Array.from(projected), Array.from(x), { atol: 1e-10, label: 'exact projection' });
  assert.throws(() => orthonormalBasis([a, Float64Array.from(a, (v) => 2 * v)]), /linearly dependent/);
});
