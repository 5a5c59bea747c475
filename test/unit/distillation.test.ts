/**
 * Distillation (TrainSettings.distill): the loss is the mean KL divergence from a frozen teacher's
 * distribution to the student's, equal to its float64 definition, zero when the two agree, with
 * the gradient softmax(z) − p that TensorFlow.js's own differentiation of the definition gives; a
 * run that distils from its starting weights starts at a loss of 0 when it starts as its teacher,
 * and a run with no starting weights is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { llama } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { klDivergence } from '../../pipeline/train/distillation.ts';
import { train, type TrainSettings } from '../../pipeline/train/trainer.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { randomLlamaWeights, TINY_GATED as SHAPE, tinySplits } from '../helpers/random-llama.ts';

/** KL(p ‖ q) per row in float64, from the definition, averaged over the rows. */
function klByDefinition(z: number[], t: number[], V: number): number {
  const logSoftmax = (row: number[]) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  };
  let sum = 0;
  const N = z.length / V;
  for (let n = 0; n < N; n++) {
    const logq = logSoftmax(z.slice(n * V, (n + 1) * V));
    const logp = logSoftmax(t.slice(n * V, (n + 1) * V));
    for (let v = 0; v < V; v++) sum += Math.exp(logp[v]!) * (logp[v]! - logq[v]!);
  }
  return sum / N;
}

test('the KL divergence: its definition in float64, zero between equal outputs, and its gradient', async () => {
  await selectBackend('cpu');
  const rng = new Rng(3);
  const [n, T, V] = [2, 3, 7];
  const z = Array.from({ length: n * T * V }, () => 3 * rng.normal());
  const t = Array.from({ length: n * T * V }, () => 3 * rng.normal());
  const student = tf.tensor3d(z, [n, T, V]);
  const teacher = tf.tensor3d(t, [n, T, V]);
  assertClose(klDivergence(student, teacher).dataSync()[0]!, klByDefinition(z, t, V), {
    atol: 1e-6,
    rtol: 1e-5,
    label: 'KL against its definition',
  });
  assert.ok(Math.abs(klDivergence(student, student).dataSync()[0]!) < 1e-6, 'KL(p ‖ p) = 0');
  // the hand-written gradient against TensorFlow.js's differentiation of the definition
  const byHand = tf.grad((s: tf.Tensor) => klDivergence(s, teacher))(student);
  const byAutodiff = tf.grad((s: tf.Tensor) => {
    const logp = tf.logSoftmax(teacher);
    return tf.div(tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, tf.logSoftmax(s)))), n * T);
  })(student);
  assertClose(Array.from(byHand.dataSync()), Array.from(byAutodiff.dataSync()), {
    atol: 1e-6,
    rtol: 1e-5,
    label: 'gradient',
  });
  assert.throws(
    () => klDivergence(student, tf.zeros([n, T, V + 1])),
    /student output .* and teacher's .* differ/,
  );
});

const SETTINGS: TrainSettings = {
  epochs: 1,
  batchSize: 4,
  lr: 1e-2,
  weightDecay: 0,
  warmupFraction: 0,
  latentNoise: 0,
  distill: true,
  seed: 2,
};

test('a distilling run learns from its starting weights: at its own β it starts at KL 0, annealed it does not', async () => {
  await selectBackend('cpu');
  const start = randomLlamaWeights(SHAPE, 1);
  const run = (settings: TrainSettings, withStart = true) =>
    train(
      {
        kind: llama,
        shape: SHAPE,
        task: nextToken,
        data: tinySplits(),
        settings,
        ...(withStart ? { start } : {}),
      },
      memoryLog(),
    );
  const same = await run(SETTINGS);
  assert.ok(Math.abs(same.stepLosses[0]!) < 1e-6, `first step at the teacher's β: ${same.stepLosses[0]}`);
  // β 0 from the first step: the student is no longer its teacher, and learns toward it
  const annealed = await run({ ...SETTINGS, epochs: 3, schedules: { beta: { kind: 'constant', value: 0 } } });
  assert.ok(annealed.stepLosses[0]! > 1e-3, `first step at β = 0: ${annealed.stepLosses[0]}`);
  assert.ok(annealed.stepLosses.at(-1)! < annealed.stepLosses[0]!, 'the divergence falls');
  // evaluations stay the task's: the next-token loss, not the divergence
  assert.ok(annealed.final.validation['loss']! > 1, `validation loss ${annealed.final.validation['loss']}`);
  await assert.rejects(
    run(SETTINGS, false),
    /distill is set, but the run starts from no weights to learn from/,
  );
});
