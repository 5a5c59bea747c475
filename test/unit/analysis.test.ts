/** Explanations add up exactly; the perturbation check tells a model's real features from chance. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contributions, explain } from '../../pipeline/analysis/explain.ts';
import { perturbationCheck } from '../../pipeline/analysis/perturb.ts';
import { interval } from '../../pipeline/analysis/stats.ts';
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
  assert.deepEqual(classes.map((c) => c.class), logits.map((l, a) => ({ l, a })).sort((p, q) => q.l - p.l).slice(0, 3).map((p) => p.a));
  for (const c of classes) {
    assert.ok(Math.abs(c.top[0]!.contribution) >= Math.abs(c.top[1]!.contribution), 'top contributions by magnitude');
    assertClose(c.top.reduce((s, t) => s + t.contribution, c.rest), c.logit, { atol: 1e-10, rtol: 1e-10, label: 'top + rest' });
  }
});

test('95% intervals: a constant has none; two points have mean ± 1.96 s/√n', () => {
  assert.deepEqual(interval([0.5, 0.5, 0.5]), { mean: 0.5, lo: 0.5, hi: 0.5, n: 3 });
  const { mean, lo, hi } = interval([0, 1]);
  assertClose([mean, hi - mean, mean - lo], [0.5, 0.98, 0.98], { atol: 1e-12, label: 'interval' });
  assert.throws(() => interval([]), /at least one value/);
});

test('the perturbation check: moving along a class\'s eigenvectors flips it; random directions do not', () => {
  // Class a's logit is (g_a · x)² for orthonormal g_a in 20 dimensions: its top eigenvector is g_a.
  // Images are 3 g_label + 2 g_next + noise: logits ≈ 9 for the label, 4 for the next class.
  const rng = new Rng(6);
  const [dim, c] = [20, 3];
  const G = Float64Array.from({ length: c * dim }, (_, i) => (i % dim === Math.floor(i / dim) * 5 ? 1 : 0));
  const layer = bilinearLayer({ W: { data: G, rows: c, cols: dim }, V: { data: G, rows: c, cols: dim }, P: { data: Float64Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0)), rows: 3, cols: 3 } });
  const make = (n: number) => {
    const labels = Uint8Array.from({ length: n }, (_, i) => i % c);
    const images = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) {
      for (let p = 0; p < dim; p++) images[r * dim + p] = 0.1 * rng.normal() + (p === labels[r]! * 5 ? 3 : 0) + (p === ((labels[r]! + 1) % c) * 5 ? 2 : 0);
    }
    return imageSet(images, labels, dim);
  };
  const eigs = Array.from({ length: c }, (_, a) => symmetricEigen(interactionMatrix(layer, oneHot(c, a)), dim));
  // Moving by ε = 3 along g_a takes the projection to 0; beyond, a quadratic feature returns.
  const settings = { epsilons: [0, 1.5, 3], perClass: 10, directions: 1, randomDraws: 8, pcaSample: 60, seed: 1 };
  const { summary, units } = perturbationCheck(layer, eigs, make(60), make(60), settings);
  const at = (method: string, eps: number) => summary.find((r) => r.method === method && r.epsilon === eps)!;
  assert.equal(at('eigen', 0).targetMisclassification.mean, 0, 'nothing is misclassified before moving');
  assert.equal(at('eigen', 3).targetMisclassification.mean, 1, 'moving 3 along g_a removes the class');
  assert.ok(at('random', 3).targetMisclassification.mean < 0.3, `random directions flipped ${at('random', 3).targetMisclassification.mean}`);
  assert.ok(at('eigen', 3).offTargetAccuracy.mean > 0.6, `other classes kept ${at('eigen', 3).offTargetAccuracy.mean}`);
  assert.equal(units.filter((u) => u.method === 'random').length, c * 8);
  assert.equal(at('random', 3).targetMisclassification.n, c * 8);
});
