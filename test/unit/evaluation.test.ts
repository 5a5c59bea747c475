/**
 * The evaluation job (train/evaluation.ts): a model's held-out loss under forced scalars equals
 * the same loss computed directly; the scalars reach the forward pass; unknown or non-finite
 * scalars are refused when planned, and weights that give NaN when run.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import type { LlamaShape } from '../../pipeline/models/llama-block.ts';
import { llama, llamaParams } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { pairedLossDifference } from '../../pipeline/analysis/paired-loss.ts';
import { asEvaluation, evaluationJob } from '../../pipeline/train/evaluation.ts';
import { weightTensors, type WeightsMeta } from '../../pipeline/train/job.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';
import { Rng } from '../../pipeline/util/random.ts';
import type { Job } from '../../pipeline/cache/job.ts';
import type { DataInfo } from '../../pipeline/data/job.ts';
import { squareKind } from '../helpers/fixture-jobs.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';
import { runJob } from '../helpers/run-job.ts';

const SHAPE: LlamaShape = {
  vocab: 23,
  dim: 12,
  hidden: 20,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  context: 8,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};
const T = 8;

function modelArtifact(weights: Record<string, Float32Array>): Artifact<WeightsMeta> {
  const shape = SHAPE as unknown as WeightsMeta['model']['shape'];
  return {
    meta: { model: { kind: 'llama', shape, description: 'a test llama' } },
    tensors: weightTensors(llama, shape, weights),
    files: {},
  };
}

function dataArtifact(): Artifact {
  const rng = new Rng(5);
  const windows = (n: number) =>
    tensor(
      Int32Array.from({ length: n * (T + 1) }, () => rng.int(SHAPE.vocab)),
      [n, T + 1],
    );
  return {
    meta: { name: 'random tokens', source: 'test', hash: 'x', vocabSize: SHAPE.vocab },
    tensors: { 'train.tokens': windows(4), 'validation.tokens': windows(5), 'test.tokens': windows(3) },
    files: {},
  };
}

/** Stand-ins for the input jobs: runJob hands the job its inputs' artifacts directly. */
const input = <M>(x: number) => squareKind.create(`input-${x}`, {}, { x }) as unknown as Job<M>;
const [MODEL, DATA] = [input<WeightsMeta>(1), input<DataInfo>(2)];

before(async () => {
  await selectBackend('auto');
});

/** Mean next-token cross-entropy of the validation windows, through the forward pass directly. */
function directLoss(weights: Record<string, Float32Array>, beta: number): number {
  const data = dataArtifact();
  const tokens = data.tensors['validation.tokens']!.data as Int32Array;
  const n = tokens.length / (T + 1);
  return tf.tidy(() => {
    const p = llamaParams(SHAPE, weights);
    const x = tf.tensor2d(
      Int32Array.from({ length: n * T }, (_, i) => tokens[Math.floor(i / T) * (T + 1) + (i % T)]!),
      [n, T],
      'int32',
    );
    const logits = tf.reshape(llama.forward(SHAPE, p, x, { scalars: { beta } }).output, [n * T, SHAPE.vocab]);
    const lp = tf.logSoftmax(logits).arraySync() as number[][];
    let sum = 0;
    for (let i = 0; i < n * T; i++) sum -= lp[i]![tokens[Math.floor(i / T) * (T + 1) + (i % T) + 1]!]!;
    return sum / (n * T);
  });
}

test('held-out loss under a forced β equals the loss computed directly, and β reaches the model', async () => {
  const weights = randomLlamaWeights(SHAPE, 2);
  const at = async (beta: number) => {
    const job = evaluationJob('e', MODEL, DATA, llama, nextToken, { beta });
    return asEvaluation(await runJob(job, { model: modelArtifact(weights), data: dataArtifact() })).meta;
  };
  const [one, zero] = [await at(1), await at(0)];
  for (const [meta, beta] of [
    [one, 1],
    [zero, 0],
  ] as const) {
    assert.deepEqual(meta.scalars, { beta });
    assert.ok(Math.abs(meta.validation['loss']! - directLoss(weights, beta)) < 1e-5, `β ${beta}`);
    assert.ok(Number.isFinite(meta.test['loss']));
  }
  assert.ok(Math.abs(one.validation['loss']! - zero.validation['loss']!) > 1e-4, 'β changes the loss');
});

test("each window's loss: they average to the split's loss, and pair two models window by window", async () => {
  const weights = randomLlamaWeights(SHAPE, 4);
  const at = async (beta: number) =>
    asEvaluation(
      await runJob(evaluationJob('e', MODEL, DATA, llama, nextToken, { beta }), {
        model: modelArtifact(weights),
        data: dataArtifact(),
      }),
    );
  const [one, zero] = [await at(1), await at(0)];
  for (const e of [one, zero]) {
    const windows = e.tensors['validation.loss']!.data as Float64Array;
    assert.equal(windows.length, 5);
    assert.equal(e.tensors['test.loss']!.data.length, 3);
    const mean = windows.reduce((a, b) => a + b, 0) / windows.length;
    assert.ok(
      Math.abs(mean - e.meta.validation['loss']!) < 1e-9,
      'windows of equal length: the mean of means',
    );
    assert.ok(Math.abs(e.meta.validation['loss']! - directLoss(weights, e.meta.scalars['beta']!)) < 1e-5);
  }
  // the same loss per window as the task's own evaluation, window by window
  const data = nextToken.prepare(dataArtifact());
  tf.tidy(() => {
    const p = llamaParams(SHAPE, weights);
    const predict = (x: tf.Tensor) => llama.forward(SHAPE, p, x, { scalars: { beta: 1 } }).output;
    const windows = one.tensors['validation.loss']!.data as Float64Array;
    windows.forEach((loss, w) =>
      assert.ok(
        Math.abs(loss - nextToken.evaluate(predict, data, 'validation', [w])['loss']!) < 1e-5,
        `window ${w}`,
      ),
    );
  });
  const self = pairedLossDifference(one, one, 'validation');
  assert.equal(self.mean, 0);
  assert.equal(self.hi! - self.lo!, 0);
  const paired = pairedLossDifference(zero, one, 'validation');
  assert.ok(Math.abs(paired.mean - (zero.meta.validation['loss']! - one.meta.validation['loss']!)) < 1e-9);
  assert.equal(paired.n, 5);
  assert.equal(paired.method, 't');
  assert.throws(
    () =>
      pairedLossDifference(
        zero,
        { ...one, tensors: { 'validation.loss': tensor(new Float64Array(4), [4]) } },
        'validation',
      ),
    /has 5 validation examples, .* 4/,
  );
});

test('unknown and non-finite scalars are refused when planned; NaN weights when run', async () => {
  const plan = (scalars: Record<string, number>) =>
    evaluationJob('e', MODEL, DATA, llama, nextToken, scalars);
  assert.throws(() => plan({ gamma: 1 }), /reads no scalar 'gamma'/);
  assert.throws(() => plan({ beta: Number.NaN }), /must be finite/);
  const weights = randomLlamaWeights(SHAPE, 3);
  weights['layers.0.w1']![0] = Number.NaN;
  await assert.rejects(
    runJob(plan({ beta: 1 }), { model: modelArtifact(weights), data: dataArtifact() }),
    /validation loss is NaN/,
  );
});
