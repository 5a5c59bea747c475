/**
 * A run may train one parameter group of its kind alone (TrainSettings.trains): the Llama kind's
 * 'mlp' group moves every MLP matrix and MLP norm gain and leaves every other tensor as it started,
 * bit for bit; a group the kind does not name is refused before the first step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llama } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { checkSupported, train, type TrainSettings } from '../../pipeline/train/trainer.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { randomLlamaWeights, TINY_GATED as SHAPE, tinySplits } from '../helpers/random-llama.ts';

const SETTINGS: TrainSettings = {
  epochs: 1,
  batchSize: 4,
  lr: 1e-2,
  weightDecay: 0.1,
  warmupFraction: 0,
  latentNoise: 0,
  seed: 2,
};

test("trains: 'mlp' moves the MLPs alone; every other tensor ends as it started", async () => {
  await selectBackend('cpu');
  const start = randomLlamaWeights(SHAPE, 1);
  const run = (trains?: string) =>
    train(
      {
        kind: llama,
        shape: SHAPE,
        task: nextToken,
        data: tinySplits(),
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
