/**
 * The model/task boundary: a second kind of model (the bilinear bigram language model) on a
 * second task (next-token prediction) goes through the same trainer, training job,
 * decomposition job and cache as the image classifier; named scalar schedules reach the forward
 * pass; parameter groups decide what is decayed; a run can start from another run's weights
 * (finetuning), with that run in its key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { build } from '../../pipeline/build.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { reportMetaSchema } from '../../pipeline/emit/schema.ts';
import { figure } from '../../pipeline/figures/job.ts';
import { trainingCurves } from '../../pipeline/figures/training-curves.ts';
import type { ReportSpec } from '../../pipeline/reports/spec.ts';
import { decodeSafetensors } from '../../pipeline/tensors/safetensors.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { eigenJob, layerOf } from '../../pipeline/decompose/job.ts';
import { interactionMatrix, quadraticForm } from '../../pipeline/decompose/interaction.ts';
import { bilinearBigram, type BigramShape } from '../../pipeline/models/bilinear-bigram.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import { defineModel, forwardWithHooks } from '../../pipeline/models/kind.ts';
import { classification } from '../../pipeline/tasks/classification.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import { AdamW } from '../../pipeline/train/adamw.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { modelWeights, trainJob } from '../../pipeline/train/job.ts';
import { scheduleValue } from '../../pipeline/train/schedule.ts';
import { train } from '../../pipeline/train/trainer.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';
import { tokenChainKind } from '../helpers/fixture-jobs.ts';

const SHAPE: BigramShape = { vocab: 12, d: 8, hidden: 16 };
const SETTINGS = {
  epochs: 12,
  batchSize: 8,
  lr: 0.03,
  weightDecay: 0.1,
  warmupFraction: 0.1,
  latentNoise: 0,
  seed: 5,
};
const chain = () => tokenChainKind.create('chain', {}, { vocab: 12, step: 5, windows: 32, context: 6 });
const runner = () =>
  new JobRunner({
    cache: new CacheStore(mkdtempSync(join(tmpdir(), 'kinds-'))),
    log: memoryLog(),
    force: false,
  });

test('a bigram language model learns a token chain through the generic training job', async () => {
  const backend = await selectBackend('auto');
  const r = runner();
  const model = await r.get(
    trainJob('toy/bigram', chain(), { kind: bilinearBigram, shape: SHAPE }, nextToken, SETTINGS, backend),
  );
  const history = model.meta.history;
  assert.equal(model.meta.task, 'next-token');
  assert.ok(
    history.at(-1)!.train['loss']! < 0.5 * history[0]!.train['loss']!,
    `loss ${history[0]!.train['loss']} → ${history.at(-1)!.train['loss']}`,
  );
  // every next token is determined by the current one: a learned chain predicts the held-out windows
  assert.ok(
    model.meta.final.test['accuracy']! > 0.9,
    `held-out next-token accuracy ${model.meta.final.test['accuracy']}`,
  );
  assert.deepEqual(Object.keys(model.tensors).sort(), ['O', 'U', 'V', 'W', 'embed']);
});

test('for unembedding rows as directions, uᵀ MLP(x) = xᵀ Q_u x, and the eigenvalues sum to trace(Q_u)', async () => {
  const backend = await selectBackend('auto');
  const r = runner();
  const modelJob = trainJob(
    'toy/bigram',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    { ...SETTINGS, epochs: 2 },
    backend,
  );
  const tokens = [0, 3, 7];
  const eigen = await r.get(
    eigenJob(
      'toy/bigram',
      modelJob,
      { names: tokens.map((t) => `token-${t}`), tensor: 'U', rows: tokens },
      'mlp',
    ),
  );
  const model = await r.get(modelJob);
  const layer = layerOf(model, 'mlp');
  const w = modelWeights(model);
  // The residual input x and the MLP's output for every input token, from the model's own forward
  // pass through its hook points (float32).
  const inputs = [0, 1, 5, 11];
  const { resid, mlp } = tf.tidy(() => {
    const params = Object.fromEntries(
      Object.entries(w).map(([name, data]) => [name, tf.tensor(data, bilinearBigram.layout(SHAPE)[name])]),
    );
    const tokensIn = tf.tensor2d([inputs], [1, inputs.length], 'int32');
    assert.throws(
      () => forwardWithHooks(bilinearBigram, SHAPE, params, tokensIn, ['attention']),
      /bilinear-bigram has no hook point 'attention' \(has: resid-pre, mlp-hidden, mlp-out\)/,
    );
    const { hooks } = forwardWithHooks(bilinearBigram, SHAPE, params, tokensIn, ['resid-pre', 'mlp-out']);
    return {
      resid: hooks['resid-pre']!.arraySync() as number[][][],
      mlp: hooks['mlp-out']!.arraySync() as number[][][],
    };
  });
  tokens.forEach((t, i) => {
    const u = Float64Array.from(w['U']!.subarray(t * SHAPE.d, (t + 1) * SHAPE.d));
    const q = interactionMatrix(layer, u);
    inputs.forEach((s, pos) => {
      const direct = u.reduce((sum, ui, j) => sum + ui * mlp[0]![pos]![j]!, 0);
      assertClose(quadraticForm(q, resid[0]![pos]!), direct, {
        atol: 1e-4,
        rtol: 1e-4,
        label: `input ${s}, output ${t}: xᵀQx vs uᵀMLP(x)`,
      });
    });
    const values = eigen.tensors[`direction${i}.values`]!.data as Float64Array;
    const trace = Array.from({ length: SHAPE.d }, (_, j) => q[j * SHAPE.d + j]!).reduce((a, b) => a + b, 0);
    assertClose(
      values.reduce((a, b) => a + b, 0),
      trace,
      { atol: 1e-9, rtol: 1e-9, label: `token ${t}: Σλ vs trace` },
    );
  });
  assert.deepEqual(eigen.meta.directions, ['token-0', 'token-3', 'token-7']);
  assert.throws(() => layerOf(model, 'attention'), /has no bilinear layer 'attention' \(has: mlp\)/);
});

test("finetuning starts from another run's weights, and that run is part of the key", async () => {
  const backend = await selectBackend('auto');
  const r = runner();
  const base = trainJob(
    'toy/base',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    SETTINGS,
    backend,
  );
  const other = trainJob(
    'toy/other',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    { ...SETTINGS, seed: 6 },
    backend,
  );
  const settings = { ...SETTINGS, epochs: 1, lr: 1e-6 };
  const tuned = trainJob(
    'toy/tuned',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    settings,
    backend,
    { init: base },
  );
  const fresh = trainJob(
    'toy/tuned',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    settings,
    backend,
  );
  assert.notEqual(r.key(tuned), r.key(fresh));
  assert.notEqual(
    r.key(tuned),
    r.key(
      trainJob('toy/tuned', chain(), { kind: bilinearBigram, shape: SHAPE }, nextToken, settings, backend, {
        init: other,
      }),
    ),
  );
  const [a, b, started] = await Promise.all([r.get(tuned), r.get(fresh), r.get(base)]);
  assert.equal(a.meta.startedFrom, r.key(base));
  assert.equal(b.meta.startedFrom, null);
  assert.ok(
    a.meta.history[0]!.train['loss']! < 0.5 * b.meta.history[0]!.train['loss']!,
    'a finetuned run starts where its base ended',
  );
  // one epoch at a learning rate of 1e-6 moves each weight by about 1e-5 at most (Adam's step is ≈ lr)
  const [from, to] = [modelWeights(started), modelWeights(a)];
  for (const name of Object.keys(from))
    assertClose(to[name]!, from[name]!, { atol: 1e-4, label: `finetuned ${name}` });
  // a model of another shape cannot start from these weights
  const wrong = trainJob(
    'toy/wrong',
    chain(),
    { kind: bilinearBigram, shape: { ...SHAPE, hidden: 4 } },
    nextToken,
    settings,
    backend,
    { init: base },
  );
  await assert.rejects(r.get(wrong), /tensor 'W' holds 128 values; bilinear-bigram expects \[4, 8\] = 32/);
});

test('named scalar schedules reach the forward pass at every step', async () => {
  await selectBackend('auto');
  const seen: number[] = [];
  // A kind that records the scalar `beta` it is given, and is otherwise the classifier.
  const recorder = defineModel({
    ...bilinearClassifier,
    name: 'test-scalar-recorder',
    module: import.meta.url,
    scalars: ['beta'],
    forward: (s, p, x, o = {}) => {
      if (o.noise) seen.push(o.scalars!['beta']!);
      return bilinearClassifier.forward(s, p, x, o);
    },
  });
  const rng = new Rng(1);
  const set = imageSet(
    rng.normalArray(40 * 4),
    Uint8Array.from({ length: 40 }, (_, i) => i % 2),
    4,
  );
  const schedules = { beta: { kind: 'linear' as const, from: 1, to: 0, start: 0.25, end: 0.75 } };
  await train(
    {
      kind: recorder,
      shape: { input: 4, embed: null, hidden: 3, classes: 2 },
      task: classification,
      data: { train: set, validation: set, test: set, classes: 2 },
      settings: { ...SETTINGS, epochs: 1, batchSize: 4, schedules },
    },
    memoryLog(),
  );
  assert.equal(seen.length, 10);
  assert.deepEqual(
    seen,
    Array.from({ length: 10 }, (_, step) => scheduleValue(schedules.beta, step, 10)),
  );
  assert.equal(seen[0], 1);
  assert.equal(seen[9], 0);
  assertClose(seen[4]!, 1 - (4 / 9 - 0.25) / 0.5, { atol: 1e-12, label: 'β in the middle of the ramp' });
});

test('a fractional epoch count ends the last pass after its share of the steps, the schedules with it', async () => {
  await selectBackend('auto');
  const betas: number[] = [];
  const recorder = defineModel({
    ...bilinearClassifier,
    name: 'test-scalar-recorder-epochs',
    module: import.meta.url,
    scalars: ['beta'],
    forward: (s, p, x, o = {}) => {
      if (o.noise) betas.push(o.scalars!['beta']!);
      return bilinearClassifier.forward(s, p, x, o);
    },
  });
  const set = imageSet(
    new Rng(3).normalArray(40 * 4),
    Uint8Array.from({ length: 40 }, (_, i) => i % 2),
    4,
  );
  const schedules = { beta: { kind: 'linear' as const, from: 1, to: 0, start: 0, end: 1 } };
  const run = (epochs: number) =>
    train(
      {
        kind: recorder,
        shape: { input: 4, embed: null, hidden: 3, classes: 2 },
        task: classification,
        data: { train: set, validation: set, test: set, classes: 2 },
        settings: { ...SETTINGS, epochs, batchSize: 8, schedules },
      },
      memoryLog(),
    );
  // 5 steps an epoch: 1.5 epochs are 8 steps (7.5 rounded), 40 + 3 × 8 examples
  const half = await run(1.5);
  assert.equal(half.steps, 8);
  assert.equal(half.examples, 64);
  assert.equal(betas.length, 8);
  assert.equal(betas.at(-1), 0, 'the schedule ends with the run');
  assert.deepEqual(
    half.history.map((h) => [h.epoch, h.step]),
    [
      [1, 5],
      [2, 8],
    ],
  );
  betas.length = 0;
  const whole = await run(2);
  assert.equal(whole.steps, 10);
  assert.equal(whole.examples, 80);
  await assert.rejects(run(0), /epochs must be a positive number/);
  await assert.rejects(run(0.05), /at least one step, got 0.05/);
});

test('evaluateWith reads the validation split with scalars held fixed, and training never sees them', async () => {
  await selectBackend('auto');
  const trained: number[] = [];
  const evaluated: number[] = [];
  // The classifier, scaling its output by the scalar β: so the loss depends on which β it read.
  const scaled = defineModel({
    ...bilinearClassifier,
    name: 'test-scalar-scaled',
    module: import.meta.url,
    scalars: ['beta'],
    forward: (s, p, x, o = {}) => {
      const beta = o.scalars!['beta']!;
      (o.noise ? trained : evaluated).push(beta);
      const out = bilinearClassifier.forward(s, p, x, o);
      return { ...out, output: tf.mul(out.output, 1 + beta) };
    },
  });
  const rng = new Rng(2);
  const set = imageSet(
    rng.normalArray(40 * 4),
    Uint8Array.from({ length: 40 }, (_, i) => i % 2),
    4,
  );
  const schedules = { beta: { kind: 'linear' as const, from: 1, to: 0.5, start: 0, end: 1 } };
  const run = (evaluateWith?: Record<string, Record<string, number>>) =>
    train(
      {
        kind: scaled,
        shape: { input: 4, embed: null, hidden: 3, classes: 2 },
        task: classification,
        data: { train: set, validation: set, test: set, classes: 2 },
        settings: {
          ...SETTINGS,
          epochs: 2,
          batchSize: 8,
          schedules,
          ...(evaluateWith ? { evaluateWith } : {}),
        },
      },
      memoryLog(),
    );
  const plain = await run();
  const trainedPlain = trained.splice(0);
  evaluated.length = 0;
  const both = await run({ zero: { beta: 0 }, two: { beta: 2 } });
  assert.deepEqual(trained, trainedPlain, 'training reads the schedule alone');
  // Each evaluation: the training sample and validation at the schedule's β, then each variant's.
  // (after the first epoch's 5 steps, the schedule's β of step 4)
  const at4 = scheduleValue(schedules.beta, 4, 10);
  assert.deepEqual(evaluated.slice(0, 4), [at4, at4, 0, 2]);
  assert.equal(plain.history.length, both.history.length);
  both.history.forEach((h, i) => {
    assert.deepEqual(h.validation, plain.history[i]!.validation, 'the scheduled evaluation is unchanged');
    assert.deepEqual(Object.keys(h.with!), ['zero', 'two']);
    assert.notEqual(h.with!['zero']!['loss'], h.with!['two']!['loss']);
  });
  assert.equal(plain.history[0]!.with, undefined);
  await assert.rejects(run({ bad: { gamma: 0 } }), /evaluation 'bad' with 'gamma' fixed/);
  // The final training metrics: over every training example, or over the evaluations' sample.
  const sampled = (finalTrain: 'all' | 'sample') =>
    train(
      {
        kind: scaled,
        shape: { input: 4, embed: null, hidden: 3, classes: 2 },
        task: classification,
        data: { train: set, validation: set, test: set, classes: 2 },
        settings: { ...SETTINGS, epochs: 2, batchSize: 8, schedules, monitor: 10, finalTrain },
      },
      memoryLog(),
    );
  const [all, sample] = [await sampled('all'), await sampled('sample')];
  assert.deepEqual(sample.final.train, sample.history.at(-1)!.train);
  assert.deepEqual(all.history.at(-1)!.train, sample.history.at(-1)!.train);
  assert.notDeepEqual(all.final.train, sample.final.train);
  await assert.rejects(run({ bad: { beta: Number.NaN } }), /'beta' must be finite/);
});

test('parameter groups: weight decay skips the tensors a kind exempts', async () => {
  await selectBackend('auto');
  const [decayed, kept] = [tf.variable(tf.tensor1d([1, -2])), tf.variable(tf.tensor1d([1, -2]))];
  const opt = new AdamW([decayed, kept], { weightDecay: 0.1, decayed: [true, false] });
  opt.step([tf.zeros([2]), tf.zeros([2])], 0.5);
  assertClose(decayed.dataSync(), [0.95, -1.9], { atol: 1e-7, label: 'decayed' });
  assert.deepEqual(Array.from(kept.dataSync()), [1, -2], 'an exempt tensor with zero gradient stays put');
  assert.deepEqual(
    ['embed', 'W', 'V', 'O', 'U'].map((n) => bilinearBigram.decays(n)),
    [false, true, true, true, false],
  );
  assert.throws(() => new AdamW([decayed], { decayed: [true, false] }), /2 decay flags for 1 parameters/);
  opt.dispose();
  tf.dispose([decayed, kept]);
});

test('a report of the new kind is emitted by the unchanged emitter: weights, metadata, provenance, figure', async () => {
  const backend = await selectBackend('auto');
  const dir = mkdtempSync(join(tmpdir(), 'kinds-report-'));
  const model = trainJob(
    'toy-lm/model',
    chain(),
    { kind: bilinearBigram, shape: SHAPE },
    nextToken,
    { ...SETTINGS, epochs: 2 },
    backend,
  );
  const spec: ReportSpec = {
    id: 'toy-lm',
    title: 'A toy language model',
    summary: 'The bigram model on a token chain.',
    plan: () => ({
      settings: {},
      models: [{ id: 'model', description: 'bigram model', job: model }],
      figures: [
        figure(
          'toy-lm',
          'training-curves',
          trainingCurves,
          { model },
          {
            metrics: [...nextToken.metrics],
            validation: 'the same token chain',
            monitored: 64,
          },
        ),
      ],
      metrics: (read) => ({
        'test-accuracy': {
          label: 'next-token accuracy',
          value: read(model).meta.final.test['accuracy']!,
          format: 'percent',
          digits: 1,
        },
      }),
    }),
  };
  await build({
    profile: 'smoke',
    force: false,
    backend: 'auto',
    outDir: join(dir, 'reports'),
    cacheDir: join(dir, 'cache'),
    log: memoryLog(),
    reports: [spec],
  });
  const report = reportMetaSchema.parse(
    JSON.parse(readFileSync(join(dir, 'reports', 'toy-lm', 'report.json'), 'utf8')),
  );
  assert.deepEqual(
    report.models[0]!.tensors.map((t) => `${t.name}[${t.shape.join(',')}]`),
    ['O[8,16]', 'U[12,8]', 'V[16,8]', 'W[16,8]', 'embed[12,8]'],
  );
  assert.equal(report.provenance.dataName, 'token-chain');
  assert.match(report.metrics['test-accuracy']!.display, /^\d+\.\d%$/);
  const weights = decodeSafetensors(
    readFileSync(join(dir, 'reports', 'toy-lm', 'models', 'model.safetensors')),
    'model',
  );
  assert.equal(weights.metadata['format'], 'bilinear-reports/bilinear-bigram');
  assert.equal(weights.metadata['task'], 'next-token');
  const curves = JSON.parse(
    readFileSync(join(dir, 'reports', 'toy-lm', 'figures', 'training-curves', 'data.json'), 'utf8'),
  ) as { rows: { metric: string }[] };
  assert.deepEqual(
    [...new Set(curves.rows.map((r) => r.metric))],
    ['cross-entropy per token', 'next-token accuracy'],
  );
});
