/**
 * Trains any model kind on any task with AdamW and scheduled scalars, seeded end to end: initial
 * weights and the order of examples come from the run's seed. The model kind (models/kind.ts)
 * owns the forward pass and which tensors are decayed; the task (tasks/kind.ts) owns batches,
 * loss and evaluation; this file owns only the loop:
 *
 *   1) initial weights: the kind's seeded init, or the weights of another run (finetuning)
 *   2) per epoch, a seeded shuffle; per step, the scheduled scalars, a batch, one AdamW step
 *   3) after each epoch (and every `evaluateEvery` steps, if set), every task metric on the
 *      held-out split and on a fixed sample of the training split (at most `monitor` examples),
 *      without noise; at the end, on the whole training split and, once, the test split
 */
import * as tf from '@tensorflow/tfjs';
import type { Json } from '../cache/artifact.ts';
import { PipelineError } from '../errors.ts';
import {
  checkWeights,
  paramTensors,
  type ModelKind,
  type NoiseName,
  type TrainingNoise,
  type Weights,
} from '../models/kind.ts';
import type { Batch, Task } from '../tasks/kind.ts';
import type { Log } from '../util/log.ts';
import { Rng } from '../util/random.ts';
import { AdamW } from './adamw.ts';
import { klDivergence } from './distillation.ts';
import { checkSchedule, scheduleValue, type ScalarSchedule } from './schedule.ts';

export type TrainSettings = {
  /**
   * Passes over the training split; a fraction ends the last pass after that share of its steps
   * (a finetune that reads half a corpus: 0.5).
   */
  epochs: number;
  batchSize: number;
  /** Peak learning rate (of the default warm-up/cosine schedule; `schedules.lr` replaces it). */
  lr: number;
  /** Decoupled weight decay λ (the paper uses 0 … 1.0), on the tensors the model kind decays. */
  weightDecay: number;
  /** Share of all steps spent warming up. */
  warmupFraction: number;
  /** Latent noise σ, relative to the std of each bilinear layer's input (0 = off). */
  latentNoise: number;
  /**
   * Input noise: Gaussian added to continuous inputs (pixels), absolute standard deviation (0 or
   * absent = off). It lets the loss see pixels that are blank in every training image, so weights
   * on them are no longer left at their random initial values.
   */
  inputNoise?: number;
  /**
   * L1 penalty: this coefficient times Σ|w| over every weight tensor, added to the training loss
   * (0 or absent = off). The recorded losses stay the task's loss alone.
   */
  l1?: number;
  /** Dropout rate on each bilinear layer's output during training (0 or absent = off). */
  dropout?: number;
  /**
   * When to evaluate: after every epoch (a training curve; the default) or after the last only
   * (studies that train dozens of models and publish no curves save a pass per epoch).
   */
  evaluate?: 'every-epoch' | 'last-epoch';
  /**
   * Also evaluate every this many steps within epochs (absent = at epoch ends only): a language
   * model trains for few epochs of many steps, and its curve needs points in between. With
   * `evaluate: 'last-epoch'` it counts across epoch ends too: a full-batch run of thousands of
   * one-step epochs is evaluated every this many steps, and after the last.
   */
  evaluateEvery?: number;
  /** Training examples in each evaluation's training sample (default TRAIN_MONITOR). */
  monitor?: number;
  /**
   * The final training metrics: over the whole training split (the default), or over the
   * evaluations' training sample ('sample': a finetune on a large corpus, where a forward pass over
   * every training token costs a third of the run and says little the sample does not).
   */
  finalTrain?: 'all' | 'sample';
  /**
   * Named scalars over the steps, passed to the model's forward pass (e.g. `beta` for a gate);
   * `lr` here replaces the default learning-rate schedule.
   */
  schedules?: Record<string, ScalarSchedule>;
  /**
   * Also evaluate the validation split, at every evaluation, with these scalars held at fixed
   * values, by name (e.g. `{ bilinear: { beta: 0 } }`): a finetune whose β is still moving, read as
   * the model one would get by stopping there. Recorded in `EpochRecord.with`.
   */
  evaluateWith?: Record<string, Record<string, number>>;
  /**
   * Train only this parameter group of the kind (`ModelKind.groups`, e.g. a transformer's 'mlp');
   * the other tensors stay as they started (absent: every tensor trains).
   */
  trains?: string;
  /**
   * Train on the KL divergence from the starting model's output distribution (the weights the run
   * starts from, frozen, at its shape's own scalars) instead of the task's loss: a finetune that
   * should change a model's form, not what it predicts. Needs starting weights; the step losses
   * record the divergence, the evaluations stay the task's.
   */
  distill?: boolean;
  seed: number;
};

/**
 * Training examples evaluated after each epoch: a seeded sample, the same every epoch, so the
 * curve is comparable across epochs at a fraction of a pass over 60,000 images (3 s an epoch for
 * the MNIST model); the final training metrics are over every training example.
 */
export const TRAIN_MONITOR = 10_000;

/** One evaluation: every task metric on the validation split and on the training sample. */
export interface EpochRecord {
  /** The epoch evaluated in or after (1-based). */
  epoch: number;
  /** Optimiser steps taken before this evaluation. */
  step: number;
  train: Record<string, number>;
  validation: Record<string, number>;
  /** The validation metrics under each of `evaluateWith`'s fixed scalars, by its names. */
  with?: Record<string, Record<string, number>>;
}

export interface TrainResult {
  weights: Weights;
  history: EpochRecord[];
  /**
   * Every task metric after the last epoch: on the whole training split, the validation split,
   * and the test split, which nothing else in training reads (it is evaluated once, here).
   */
  final: { train: Record<string, number>; validation: Record<string, number>; test: Record<string, number> };
  /** How many training examples each epoch's `train` metrics are over. */
  monitored: number;
  /** The mean batch loss of every step, before that step's update. */
  stepLosses: Float32Array;
  steps: number;
  /** Training examples read, over every step. */
  examples: number;
  /** Mean time of a training step (batch, forward, backward, update), evaluations excluded. */
  msPerStep: number;
  /** Time of the whole run: initialisation, every step and every evaluation. */
  wallMs: number;
}

export interface TrainRun<D> {
  kind: ModelKind;
  shape: Json;
  task: Task<D>;
  data: D;
  settings: TrainSettings;
  /** Weights to start from instead of the kind's initialisation (finetuning); same layout. */
  start?: Weights;
}

/** The settings that reach a kind's forward pass as training noise, by the noise they set. */
const NOISE_SETTINGS = {
  latentNoise: 'latent',
  inputNoise: 'input',
  dropout: 'dropout',
} as const satisfies Record<string, NoiseName>;

/**
 * Refuses a run whose settings the model kind does not implement: a nonzero noise its forward
 * pass does not apply, or a schedule for a scalar it does not read. Ignoring either would
 * publish a model trained otherwise than its settings say.
 */
export function checkSupported(kind: ModelKind, settings: TrainSettings): void {
  const refuse = (what: string, has: readonly string[]) =>
    new PipelineError(
      `${kind.name} models do not implement ${what} (they implement: ${has.join(', ') || 'none'})`,
      { exitCode: 2, hint: 'remove the setting from the report spec, or implement it in the model kind' },
    );
  for (const [setting, noise] of Object.entries(NOISE_SETTINGS)) {
    const value = settings[setting as keyof typeof NOISE_SETTINGS] ?? 0;
    if (value !== 0 && !kind.noises.includes(noise))
      throw refuse(
        `${setting} (set to ${value})`,
        kind.noises.map((n) => Object.entries(NOISE_SETTINGS).find(([, v]) => v === n)![0]),
      );
  }
  for (const name of Object.keys(settings.schedules ?? {})) {
    if (name !== 'lr' && !kind.scalars.includes(name))
      throw refuse(
        `a schedule for '${name}'`,
        ['lr', ...kind.scalars].map((n) => `a schedule for '${n}'`),
      );
  }
  if (settings.trains !== undefined && !kind.groups?.[settings.trains])
    throw refuse(`the parameter group '${settings.trains}'`, Object.keys(kind.groups ?? {}));
  for (const [variant, scalars] of Object.entries(settings.evaluateWith ?? {}))
    for (const [name, value] of Object.entries(scalars)) {
      if (!kind.scalars.includes(name))
        throw refuse(
          `evaluation '${variant}' with '${name}' fixed`,
          kind.scalars.map((n) => `'${n}'`),
        );
      if (!Number.isFinite(value))
        throw new PipelineError(`evaluation '${variant}': '${name}' must be finite, got ${value}`, {
          exitCode: 2,
          hint: "fix evaluateWith in the report spec's training settings",
        });
    }
}

export async function train<D>(run: TrainRun<D>, log: Log): Promise<TrainResult> {
  const { kind, shape, task, data, settings } = run;
  checkSupported(kind, settings);
  const began = performance.now();
  const rng = new Rng(settings.seed);
  // The init seed is drawn even when starting from given weights, so the data order is the same.
  const initSeed = rng.nextUint32();
  const start = run.start ?? kind.init(shape, new Rng(initSeed));
  const trainee = makeTrainee(kind, shape, task, start, settings.weightDecay, settings.trains);
  const teacher = settings.distill ? teacherOf(kind, shape, run.start) : undefined;
  const { params, names } = trainee;
  const trainSize = task.size(data, 'train');
  const stepsPerEpoch = Math.ceil(trainSize / settings.batchSize);
  const totalSteps = checkEpochs(settings.epochs, stepsPerEpoch);
  const epochs = Math.ceil(settings.epochs);
  const schedules = schedulesOf(settings);
  const every = checkEvery(settings.evaluateEvery);
  const history: EpochRecord[] = [];
  const monitor = monitorSample(trainSize, settings.seed, settings.monitor ?? TRAIN_MONITOR);
  const progress = log.progress('training', totalSteps);
  const stepLosses = new Float32Array(totalSteps);
  let step = 0;
  let examples = 0;
  let evalMs = 0;
  // Evaluations read the schedule's scalars at the last step taken (or the fixed ones of a
  // variant), and never noise.
  const predictor = (fixed: Record<string, number> = {}) => {
    const scalars = Object.fromEntries(
      Object.entries(schedules).map(([name, s]) => [
        name,
        scheduleValue(s, Math.max(0, step - 1), totalSteps),
      ]),
    );
    const read = { ...scalars, ...fixed };
    return (x: tf.Tensor) => kind.forward(shape, params, x, { scalars: read }).output;
  };
  const variants = Object.entries(settings.evaluateWith ?? {});
  const evaluate = (epoch: number) => {
    const started = performance.now();
    const predict = predictor();
    history.push({
      epoch,
      step,
      train: task.evaluate(predict, data, 'train', monitor),
      validation: task.evaluate(predict, data, 'validation'),
      ...(variants.length
        ? {
            with: Object.fromEntries(
              variants.map(([name, fixed]) => [name, task.evaluate(predictor(fixed), data, 'validation')]),
            ),
          }
        : {}),
    });
    evalMs += performance.now() - started;
  };
  let final: TrainResult['final'] | undefined;
  const loopStarted = performance.now();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: trainSize }, (_, i) => i));
      // The epoch's batches, the last epoch's cut at the run's last step when it is a fraction.
      const end = Math.min(order.length, (totalSteps - step) * settings.batchSize);
      for (let first = 0; first < end; first += settings.batchSize) {
        const indices = order.slice(first, first + settings.batchSize);
        const b = task.batch(data, 'train', indices);
        const noise: TrainingNoise = {
          latent: settings.latentNoise,
          input: settings.inputNoise ?? 0,
          dropout: settings.dropout ?? 0,
          seed: rng.nextUint32(),
        };
        const scalars = Object.fromEntries(
          Object.entries(schedules).map(([name, s]) => [name, scheduleValue(s, step, totalSteps)]),
        );
        const loss = trainStep(trainee, b, noise, scalars, settings.l1 ?? 0, teacher?.predict);
        stepLosses[step] = loss;
        step++;
        if (!Number.isFinite(loss)) throw divergence(epoch, step, loss);
        examples += indices.length;
        progress.update(step, `epoch ${epoch}/${settings.epochs} loss ${loss.toFixed(4)}`);
        // Epoch ends are evaluated below, except under 'last-epoch', where `every` alone spaces
        // the evaluations (full-batch training: one step per epoch, thousands of epochs).
        const epochEnd = first + settings.batchSize >= end;
        const endEvaluated = settings.evaluate !== 'last-epoch' || epoch === epochs;
        if (every && step % every === 0 && !(epochEnd && endEvaluated)) evaluate(epoch);
      }
      if (settings.evaluate === 'last-epoch' && epoch < epochs) continue;
      evaluate(epoch);
      if (epoch === epochs) {
        const started = performance.now();
        const predict = predictor();
        final = {
          train:
            monitor && settings.finalTrain !== 'sample'
              ? task.evaluate(predict, data, 'train')
              : history.at(-1)!.train,
          validation: history.at(-1)!.validation,
          test: task.evaluate(predict, data, 'test'),
        };
        evalMs += performance.now() - started;
      }
    }
    const trainMs = performance.now() - loopStarted - evalMs;
    const weights = Object.fromEntries(names.map((n) => [n, new Float32Array(params[n]!.dataSync())]));
    return {
      weights,
      history,
      final: final!,
      monitored: monitor?.length ?? trainSize,
      stepLosses,
      steps: step,
      examples,
      msPerStep: trainMs / Math.max(step, 1),
      wallMs: performance.now() - began,
    };
  } finally {
    progress.end();
    disposeTrainee(trainee);
    teacher?.dispose();
  }
}

/** The frozen model a distilling run learns from: its starting weights, at the shape's own scalars. */
function teacherOf(
  kind: ModelKind,
  shape: Json,
  start: Weights | undefined,
): { predict: (x: tf.Tensor) => tf.Tensor; dispose: () => void } {
  if (!start)
    throw new PipelineError('distill is set, but the run starts from no weights to learn from', {
      exitCode: 2,
      hint: 'distillation finetunes a model: give the run starting weights, or remove distill',
    });
  const params = paramTensors(kind, shape, start);
  return {
    predict: (x) => kind.forward(shape, params, x).output,
    dispose: () => tf.dispose(Object.values(params)),
  };
}

/** The run's steps: whole epochs of `stepsPerEpoch`, and the share of one a fraction asks for. */
function checkEpochs(epochs: number, stepsPerEpoch: number): number {
  const steps = Math.round(stepsPerEpoch * epochs);
  if (!(Number.isFinite(epochs) && epochs > 0) || steps < 1)
    throw new PipelineError(
      `epochs must be a positive number giving at least one step, got ${epochs} ` +
        `(${stepsPerEpoch} steps per epoch)`,
      { exitCode: 2, hint: "fix the report spec's training settings" },
    );
  return steps;
}

function checkEvery(every: number | undefined): number | undefined {
  if (every === undefined) return undefined;
  if (!Number.isInteger(every) || every < 1)
    throw new PipelineError(`evaluateEvery must be a whole number of steps ≥ 1, got ${every}`, {
      exitCode: 2,
      hint: "fix the report spec's training settings",
    });
  return every;
}

/**
 * The training examples evaluated each epoch, ascending; undefined when that is all of them. From its own
 * stream, so the training stream is untouched.
 */
function monitorSample(n: number, seed: number, size: number): number[] | undefined {
  if (!Number.isInteger(size) || size < 1)
    throw new PipelineError(`monitor must be a whole number of training examples ≥ 1, got ${size}`, {
      exitCode: 2,
      hint: "fix the report spec's training settings",
    });
  if (n <= size) return undefined;
  return new Rng(seed ^ 0x6d6f6e69)
    .shuffle(Array.from({ length: n }, (_, i) => i))
    .slice(0, size)
    .sort((a, b) => a - b);
}

/** The learning rate's schedule (the warm-up/cosine default unless given) and the others. */
function schedulesOf(settings: TrainSettings): Record<string, ScalarSchedule> {
  const all: Record<string, ScalarSchedule> = {
    lr: { kind: 'warmup-cosine', peak: settings.lr, warmup: settings.warmupFraction, final: 0 },
    ...settings.schedules,
  };
  for (const [name, s] of Object.entries(all)) checkSchedule(name, s);
  return all;
}

let variableCount = 0;

/** The weights as TensorFlow.js variables, in layout order; names unique in this thread. */
function variables(
  kind: ModelKind,
  shape: Json,
  weights: Weights,
  names: string[],
): Record<string, tf.Variable> {
  const layout = kind.layout(shape);
  // tidy disposes the initial tensor; the variable keeps the data alive.
  return Object.fromEntries(
    names.map((n) => [
      n,
      tf.tidy(() => tf.variable(tf.tensor(weights[n]!, layout[n]), true, `${n}_${++variableCount}`)),
    ]),
  );
}

/** A model being trained: its variables (in layout order), those that train, and its optimiser. */
export interface Trainee {
  kind: ModelKind;
  shape: Json;
  task: Pick<Task, 'loss'>;
  names: string[];
  params: Record<string, tf.Variable>;
  /** The variables the optimiser updates (every one, or a parameter group's). */
  list: tf.Variable[];
  optimizer: AdamW;
}

/**
 * Variables from `weights` (checked against the layout) and AdamW with the kind's decay groups,
 * over every tensor or, with `trains`, over that parameter group's alone (the rest are held).
 */
export function makeTrainee(
  kind: ModelKind,
  shape: Json,
  task: Pick<Task, 'loss'>,
  weights: Weights,
  weightDecay: number,
  trains?: string,
): Trainee {
  checkWeights(kind, shape, weights, 'initial weights');
  const names = Object.keys(kind.layout(shape));
  const params = variables(kind, shape, weights, names);
  const group = trains === undefined ? () => true : kind.groups?.[trains];
  if (!group)
    throw new PipelineError(`${kind.name} models have no parameter group '${trains}'`, { exitCode: 2 });
  const trained = names.filter((n) => group(n));
  const list = trained.map((n) => params[n]!);
  const optimizer = new AdamW(list, { weightDecay, decayed: trained.map((n) => kind.decays(n)) });
  return { kind, shape, task, names, params, list, optimizer };
}

export function disposeTrainee(t: Trainee): void {
  t.optimizer.dispose();
  tf.dispose(Object.values(t.params));
}

/**
 * One optimiser step on the batch's loss plus `l1` · Σ|w|; returns that loss alone, before the
 * step. The loss is the task's, or with a `teacher` the KL divergence from its output on the batch.
 * Disposes the batch.
 */
export function trainStep(
  t: Trainee,
  b: Batch,
  noise: TrainingNoise,
  scalars: Record<string, number>,
  l1: number,
  teacher?: (inputs: tf.Tensor) => tf.Tensor,
): number {
  const kept: { loss?: tf.Scalar } = {};
  const target = teacher ? tf.tidy(() => teacher(b.inputs)) : undefined;
  const { value, grads } = tf.variableGrads(() => {
    const output = t.kind.forward(t.shape, t.params, b.inputs, { noise, scalars }).output;
    const loss = tf.keep(target ? klDivergence(output, target) : t.task.loss(output, b));
    kept.loss = loss;
    if (l1 === 0) return loss;
    return tf.add<tf.Scalar>(loss, tf.mul(l1, tf.addN(t.list.map((p) => tf.sum(tf.abs(p))))));
  }, t.list);
  t.optimizer.step(
    t.list.map((p) => grads[p.name]!),
    scalars['lr']!,
  );
  const loss = kept.loss!.dataSync()[0]!;
  tf.dispose([value, kept.loss!, b.inputs, b.targets, ...(target ? [target] : []), ...Object.values(grads)]);
  return loss;
}

function divergence(epoch: number, step: number, loss: number): PipelineError {
  return new PipelineError(`training diverged: loss is ${loss} at step ${step} (epoch ${epoch})`, {
    hint: 'lower the learning rate or the initial weight scale in the report spec',
  });
}
