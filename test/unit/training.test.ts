/**
 * Optimiser, schedule and trainer: AdamW against its equations computed by hand, decoupled decay
 * on a zero gradient, the schedule's corners, seeded reproducibility, no tensor leaks, and a
 * diverging run stopped with a message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { AdamW } from '../../pipeline/train/adamw.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { learningRate } from '../../pipeline/train/schedule.ts';
import { trainClassifier } from '../helpers/train.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

test('two AdamW steps equal the update equations computed by hand', async () => {
  await selectBackend('auto');
  const theta0 = [0.5, -1.5, 2];
  const grads = [
    [0.1, -0.2, 0.3],
    [-0.3, 0.05, 0.2],
  ];
  const [lr, wd, b1, b2, eps] = [0.01, 0.5, 0.9, 0.999, 1e-8];
  const p = tf.variable(tf.tensor1d(theta0));
  const opt = new AdamW([p], { weightDecay: wd });
  const expected = [...theta0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  grads.forEach((g, step) => {
    opt.step([tf.tensor1d(g)], lr);
    const t = step + 1;
    for (let i = 0; i < 3; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const update = m[i]! / (1 - b1 ** t) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps);
      expected[i] = expected[i]! * (1 - lr * wd) - lr * update;
    }
  });
  assertClose(p.dataSync(), expected, { atol: 1e-6, label: 'θ after 2 steps' }); // float32
  opt.dispose();
  p.dispose();
});

test('with a zero gradient, decay is decoupled: θ ← θ (1 − lr·λ) exactly', async () => {
  await selectBackend('auto');
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new AdamW([p], { weightDecay: 0.1 });
  opt.step([tf.zeros([2])], 0.5);
  assertClose(p.dataSync(), [0.95, -1.9], { atol: 1e-7, label: 'θ' });
  opt.dispose();
  p.dispose();
});

test('schedule: linear warm-up to the peak, cosine down to the final fraction', () => {
  const s = { peak: 1, warmupSteps: 10, totalSteps: 110, finalFraction: 0.1 };
  assertClose(learningRate(s, 0), 0.1, { atol: 1e-12, label: 'first step' });
  assertClose(learningRate(s, 9), 1, { atol: 1e-12, label: 'end of warm-up' });
  assertClose(learningRate(s, 10), 1, { atol: 1e-12, label: 'start of decay' });
  assertClose(learningRate(s, 109), 0.1, { atol: 1e-12, label: 'last step' });
  assertClose(learningRate(s, 59.5), 0.55, { atol: 1e-12, label: 'midpoint' });
});

function toyData(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const images = Float32Array.from(
    { length: n * 8 },
    (_, k) => rng.uniform() + (k % 8 === labels[Math.floor(k / 8)]! ? 1 : 0),
  );
  return imageSet(images, labels, 8);
}

const SETTINGS = {
  epochs: 2,
  batchSize: 16,
  lr: 0.01,
  weightDecay: 0.1,
  warmupFraction: 0.1,
  latentNoise: 0.3,
  seed: 3,
};
const SHAPE = { input: 8, embed: 4, hidden: 5, classes: 2 };

test('training is reproducible from its seed and leaks no tensors', async () => {
  await selectBackend('auto');
  const data = { train: toyData(64, 1), test: toyData(16, 2) };
  await trainClassifier(SHAPE, SETTINGS, data, memoryLog()); // warm up kernels and caches
  const before = tf.memory().numTensors;
  const a = await trainClassifier(SHAPE, SETTINGS, data, memoryLog());
  assert.equal(tf.memory().numTensors, before, 'tensor count grew across a training run');
  const b = await trainClassifier(SHAPE, SETTINGS, data, memoryLog());
  assert.deepEqual(a.weights.W, b.weights.W);
  assert.deepEqual(a.history, b.history);
  const c = await trainClassifier(SHAPE, { ...SETTINGS, seed: 4 }, data, memoryLog());
  assert.notDeepEqual(a.weights.W, c.weights.W);
});

test('evaluateEvery adds evaluations within epochs, at the steps named; they do not change training; monitor sizes the training sample', async () => {
  await selectBackend('auto');
  const data = { train: toyData(64, 1), test: toyData(16, 2) };
  // 64 examples in batches of 16: 4 steps an epoch, 8 in all.
  const plain = await trainClassifier(SHAPE, SETTINGS, data, memoryLog());
  assert.deepEqual(
    plain.history.map((h) => [h.epoch, h.step]),
    [
      [1, 4],
      [2, 8],
    ],
  );
  const dense = await trainClassifier(
    SHAPE,
    { ...SETTINGS, evaluateEvery: 3, monitor: 10 },
    data,
    memoryLog(),
  );
  assert.deepEqual(
    dense.history.map((h) => [h.epoch, h.step]),
    [
      [1, 3],
      [1, 4],
      [2, 6],
      [2, 8],
    ],
    'every 3 steps, and at each epoch end',
  );
  assert.deepEqual(dense.weights, plain.weights, 'evaluating draws nothing from the training stream');
  assert.deepEqual(dense.history[1]!.validation, plain.history[0]!.validation);
  assert.equal(dense.monitored, 10);
  assert.notDeepEqual(
    dense.history[1]!.train,
    plain.history[0]!.train,
    'a 10-example training sample is not all 64',
  );
  assert.deepEqual(dense.final, plain.final, 'the final metrics are over whole splits whatever the sample');
  assert.ok(
    dense.wallMs >= dense.msPerStep * dense.steps,
    `wall ${dense.wallMs} ms ≥ ${dense.steps} steps × ${dense.msPerStep} ms`,
  );
  await assert.rejects(
    trainClassifier(SHAPE, { ...SETTINGS, evaluateEvery: 0 }, data, memoryLog()),
    /evaluateEvery must be a whole number of steps ≥ 1, got 0/,
  );
});

test("under 'last-epoch', evaluateEvery counts across epoch ends: full-batch runs get a sparse curve", async () => {
  await selectBackend('auto');
  const data = { train: toyData(16, 1), test: toyData(16, 2) };
  // Full batch: one step an epoch, 7 epochs; every 3 steps, then after the last only once.
  const run = await trainClassifier(
    SHAPE,
    { ...SETTINGS, batchSize: 16, epochs: 7, evaluate: 'last-epoch', evaluateEvery: 3 },
    data,
    memoryLog(),
  );
  assert.deepEqual(
    run.history.map((h) => [h.epoch, h.step]),
    [
      [3, 3],
      [6, 6],
      [7, 7],
    ],
  );
  const six = await trainClassifier(
    SHAPE,
    { ...SETTINGS, batchSize: 16, epochs: 6, evaluate: 'last-epoch', evaluateEvery: 3 },
    data,
    memoryLog(),
  );
  assert.deepEqual(
    six.history.map((h) => h.step),
    [3, 6],
    'the last step is evaluated once, not twice',
  );
});

test('a diverging run stops with a message instead of producing NaN weights', async () => {
  await selectBackend('auto');
  const data = { train: toyData(64, 1), test: toyData(16, 2) };
  await assert.rejects(
    trainClassifier(SHAPE, { ...SETTINGS, lr: 1e30, warmupFraction: 0 }, data, memoryLog()),
    /training diverged: loss is (NaN|Infinity)/,
  );
});

/** Σ|w| over every weight matrix of a trained model. */
function l1Norm(w: Record<string, Float32Array>): number {
  return [w['E'], w['W'], w['V'], w['P']].reduce(
    (s, m) => s + (m ? m.reduce((t, x) => t + Math.abs(x), 0) : 0),
    0,
  );
}

test('an L1 penalty shrinks Σ|w|, is reproducible, and the recorded loss stays the cross-entropy', async () => {
  await selectBackend('auto');
  const data = { train: toyData(64, 1), test: toyData(16, 2) };
  const plain = { ...SETTINGS, weightDecay: 0, latentNoise: 0, epochs: 16, lr: 0.02 };
  const a = await trainClassifier(SHAPE, plain, data, memoryLog());
  const b = await trainClassifier(SHAPE, { ...plain, l1: 0.1 }, data, memoryLog());
  const b2 = await trainClassifier(SHAPE, { ...plain, l1: 0.1 }, data, memoryLog());
  assert.ok(
    l1Norm(b.weights) < 0.8 * l1Norm(a.weights),
    `Σ|w| ${l1Norm(b.weights)} (L1) vs ${l1Norm(a.weights)} (none)`,
  );
  assert.deepEqual(b.weights.W, b2.weights.W);
  // the first step's loss is computed before any update, from the same initial weights
  assert.equal(b.stepLosses[0], a.stepLosses[0]);
});

test('dropout is seeded and changes training; rate 0 is the same as none', async () => {
  await selectBackend('auto');
  const data = { train: toyData(64, 1), test: toyData(16, 2) };
  const none = await trainClassifier(SHAPE, SETTINGS, data, memoryLog());
  const zero = await trainClassifier(SHAPE, { ...SETTINGS, dropout: 0 }, data, memoryLog());
  const half = await trainClassifier(SHAPE, { ...SETTINGS, dropout: 0.5 }, data, memoryLog());
  const again = await trainClassifier(SHAPE, { ...SETTINGS, dropout: 0.5 }, data, memoryLog());
  assert.deepEqual(zero.weights.W, none.weights.W);
  assert.notEqual(half.stepLosses[0], none.stepLosses[0], 'dropout should change the first batch loss');
  assert.deepEqual(half.weights.W, again.weights.W);
});
