/**
 * A gated Llama at β = 0 written plainly bilinear (W2 halved) is the same function bit for bit;
 * a training run can keep its model in that form; and the llama2.c checkpoint this project
 * publishes (a negative hidden_dim marks a bilinear MLP) reads back into the same model, gated or
 * bilinear, while shapes the format cannot hold are refused by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { runJob } from '../helpers/run-job.ts';
import { readLlamaCheckpoint } from '../../pipeline/data/llama-checkpoint.ts';
import type { Weights } from '../../pipeline/models/kind.ts';
import {
  forwardLlama,
  llama,
  llamaFromCheckpoint,
  llamaParams,
  llamaToCheckpoint,
  type LlamaShape,
} from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { asModel, modelWeights, trainJob } from '../../pipeline/train/job.ts';
import { tokenChainKind } from '../helpers/fixture-jobs.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';

const GATED: LlamaShape = {
  vocab: 19,
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  context: 7,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 0,
  normEps: 1e-5,
  ropeTheta: 10000,
};
const IDS = [1, 4, 9, 16, 2, 11, 7];

function logits(shape: LlamaShape, weights: Weights): Float32Array {
  const p = llamaParams(shape, weights);
  try {
    return tf.tidy(
      () =>
        forwardLlama(
          shape,
          p,
          tf.tensor2d([IDS], [1, IDS.length], 'int32'),
        ).output.dataSync() as Float32Array,
    );
  } finally {
    tf.dispose(Object.values(p));
  }
}

test('the bilinear form of a gated model at β = 0 is the same function, bit for bit', async () => {
  await selectBackend('cpu');
  const weights = randomLlamaWeights(GATED, 1);
  const { shape, weights: plain } = llama.bilinearForm!(GATED, weights);
  assert.equal(shape.mlp, 'bilinear');
  for (let l = 0; l < GATED.layers; l++) {
    assert.deepEqual(
      plain[`layers.${l}.w2`],
      weights[`layers.${l}.w2`]!.map((v) => v / 2),
    );
    assert.equal(plain[`layers.${l}.w1`], weights[`layers.${l}.w1`], 'W1 and W3 unchanged');
  }
  assert.deepEqual(logits(shape, plain), logits(GATED, weights));
  assert.equal(llama.bilinearForm!(shape, plain).weights, plain, 'a bilinear model is its own form');
  assert.throws(
    () => llama.bilinearForm!({ ...GATED, beta: 0.5 }, weights),
    /gated MLP at β = 0\.5 is not bilinear/,
  );
});

test('llama2.c checkpoints round trip: gated (β = 1) and bilinear (negative hidden_dim) models read back the same', async () => {
  await selectBackend('cpu');
  const gated = { ...GATED, beta: 1 };
  const weights = randomLlamaWeights(gated, 2);
  const bilinear = llama.bilinearForm!(GATED, randomLlamaWeights(GATED, 3));
  for (const [label, shape, w] of [
    ['gated', gated, weights],
    ['bilinear', bilinear.shape, bilinear.weights],
  ] as const) {
    const bytes = llama.checkpoint!.write(shape, w);
    const hidden = new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true);
    assert.equal(hidden, shape.mlp === 'bilinear' ? -shape.hidden : shape.hidden, `${label}: hidden_dim`);
    const back = llamaFromCheckpoint(readLlamaCheckpoint(bytes, `${label}.bin`));
    assert.deepEqual(back.shape, shape, `${label}: shape`);
    for (const [name, values] of Object.entries(w))
      assert.deepEqual(back.weights[name], values, `${label}: ${name}`);
    assert.deepEqual(logits(back.shape, back.weights), logits(shape, w), `${label}: logits`);
  }
  assert.throws(
    () => llamaToCheckpoint({ ...gated, beta: 0.5 }, weights),
    /gated MLP at β = 0\.5 .*cannot hold/,
  );
  assert.throws(() => llamaToCheckpoint({ ...gated, normEps: 1e-6 }, weights), /ε = 0\.000001, not 1e-5/);
  assert.throws(() => llamaToCheckpoint({ ...gated, ropeTheta: 500000 }, weights), /θ = 500000/);
  assert.throws(
    () => llamaToCheckpoint({ ...gated, norm: 'none' }, weights),
    /has no normalisation, which llama2\.c's format cannot hold/,
  );
});

test('a training run can keep its model in the bilinear form: the same run, W2 halved, shape bilinear', async () => {
  const backend = await selectBackend('cpu');
  const data = tokenChainKind.create('chain', {}, { vocab: GATED.vocab, step: 5, windows: 8, context: 6 });
  const settings = {
    epochs: 1,
    batchSize: 4,
    lr: 1e-3,
    weightDecay: 0,
    warmupFraction: 0,
    latentNoise: 0,
    seed: 1,
  };
  const run = (bilinearForm: boolean) =>
    trainJob('lm/run', data, { kind: llama, shape: GATED }, nextToken, settings, backend, { bilinearForm });
  const dataArtifact = await runJob(data);
  const [kept, plain] = [
    asModel(await runJob(run(true), { data: dataArtifact })),
    asModel(await runJob(run(false), { data: dataArtifact })),
  ];
  assert.equal((kept.meta.model.shape as unknown as LlamaShape).mlp, 'bilinear');
  assert.match(kept.meta.model.description, /bilinear MLP/);
  assert.equal((plain.meta.model.shape as unknown as LlamaShape).mlp, 'gated');
  const [a, b] = [modelWeights(kept), modelWeights(plain)];
  for (const name of Object.keys(b))
    assert.deepEqual(a[name], name.endsWith('.w2') ? b[name]!.map((v) => v / 2) : b[name], name);
  assert.deepEqual(kept.meta.history, plain.meta.history, 'the training itself is the same');
});
