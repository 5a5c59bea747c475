/**
 * A run may train one parameter group of its kind alone (TrainSettings.trains): the Llama kind's
 * 'mlp' group moves every MLP matrix and MLP norm gain and leaves every other tensor as it started,
 * bit for bit; a group the kind does not name is refused before the first step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenWindows, type TokenSplits } from '../../pipeline/data/tokens.ts';
import { llama, type LlamaShape } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { checkSupported, train, type TrainSettings } from '../../pipeline/train/trainer.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';

const SHAPE: LlamaShape = {
  vocab: 17,
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  context: 6,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};
const SETTINGS: TrainSettings = {
  epochs: 1,
  batchSize: 4,
  lr: 1e-2,
  weightDecay: 0.1,
  warmupFraction: 0,
  latentNoise: 0,
  seed: 2,
};

function splits(): TokenSplits {
  const rng = new Rng(4);
  const make = (n: number) =>
    tokenWindows(
      Int32Array.from({ length: n * (SHAPE.context + 1) }, () => rng.int(SHAPE.vocab)),
      n,
      SHAPE.context,
      SHAPE.vocab,
      'fixture',
    );
  return { train: make(16), validation: make(4), test: make(4), vocabSize: SHAPE.vocab };
}

test("trains: 'mlp' moves the MLPs alone; every other tensor ends as it started", async () => {
  await selectBackend('cpu');
  const start = randomLlamaWeights(SHAPE, 1);
  const run = (trains?: string) =>
    train(
      {
        kind: llama,
        shape: SHAPE,
        task: nextToken,
        data: splits(),
        settings: { ...SETTINGS, ...(trains ? { trains } : {}) },
        start,
      },
      memoryLog(),
    );
  const [mlp, all] = [await run('mlp'), await run()];
  for (const name of Object.keys(start)) {
    const inGroup = /^layers\.\d\.(w1|w2|w3|mlp_norm)$/.test(name);
    const moved = (w: Float32Array) => w.some((v, i) => v !== start[name]![i]);
    assert.equal(
      moved(mlp.weights[name]!),
      inGroup,
      `${name}: ${inGroup ? 'trained' : 'held'} with trains 'mlp'`,
    );
    assert.equal(moved(all.weights[name]!), true, `${name}: trained with every tensor`);
  }
  assert.throws(
    () => checkSupported(llama, { ...SETTINGS, trains: 'attention' }),
    /llama models do not implement the parameter group 'attention' \(they implement: mlp\)/,
  );
});
