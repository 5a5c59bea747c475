/**
 * Trains a bilinear classifier with AdamW and a warm-up/cosine schedule, seeded end to end:
 * initial weights and the order of examples come from the job's seed.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/dataset.ts';
import { PipelineError } from '../errors.ts';
import {
  disposeVariables,
  forward,
  fromVariables,
  initWeights,
  toVariables,
  variableList,
  type BilinearShape,
  type BilinearVariables,
  type BilinearWeights,
  type TrainingNoise,
} from '../models/bilinear.ts';
import type { Log } from '../util/log.ts';
import { Rng } from '../util/random.ts';
import { AdamW } from './adamw.ts';
import { learningRate } from './schedule.ts';

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Decoupled weight decay λ (the paper uses 0 … 1.0). */
  weightDecay: number;
  /** Share of all steps spent warming up. */
  warmupFraction: number;
  /** Latent noise σ, relative to the std of the bilinear layer's input (0 = off). */
  latentNoise: number;
  /**
   * Input noise: Gaussian added to the pixels, absolute standard deviation (0 = off; absent in
   * settings written before it existed). It lets the loss see pixels that are blank in every
   * training image, so weights on them are no longer left at their random initial values.
   */
  inputNoise?: number;
  /**
   * L1 penalty: this coefficient times Σ|w| over every weight matrix (E, W, V, P), added to the
   * training loss (0 or absent = off). The recorded losses stay the cross-entropy alone.
   */
  l1?: number;
  /** Dropout rate on the hidden layer during training (0 or absent = off). */
  dropout?: number;
  seed: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface TrainResult {
  weights: BilinearWeights;
  history: EpochRecord[];
  /** The mean batch loss of every step, before that step's update. */
  stepLosses: Float32Array;
  steps: number;
  msPerStep: number;
}

export async function trainClassifier(
  shape: BilinearShape,
  settings: TrainSettings,
  data: { train: ImageSet; test: ImageSet },
  log: Log,
): Promise<TrainResult> {
  const rng = new Rng(settings.seed);
  const vars = toVariables(initWeights(shape, rng.nextUint32()));
  const params = variableList(vars);
  const optimizer = new AdamW(params, { weightDecay: settings.weightDecay });
  const stepsPerEpoch = Math.ceil(data.train.n / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const schedule = { peak: settings.lr, warmupSteps: Math.round(settings.warmupFraction * totalSteps), totalSteps, finalFraction: 0 };
  const history: EpochRecord[] = [];
  const progress = log.progress('training', totalSteps);
  let step = 0;
  let trainMs = 0;
  const stepLosses = new Float32Array(totalSteps);
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: data.train.n }, (_, i) => i));
      const started = performance.now();
      for (let start = 0; start < order.length; start += settings.batchSize) {
        const b = batch(data.train, order.slice(start, start + settings.batchSize), shape.classes);
        const noise = { latent: settings.latentNoise, input: settings.inputNoise ?? 0, dropout: settings.dropout ?? 0, seed: rng.nextUint32() };
        const loss = trainStep(vars, optimizer, b, noise, learningRate(schedule, step), settings.l1 ?? 0);
        stepLosses[step] = loss;
        step++;
        if (!Number.isFinite(loss)) throw divergence(epoch, step, loss);
        progress.update(step, `epoch ${epoch}/${settings.epochs} loss ${loss.toFixed(4)}`);
      }
      trainMs += performance.now() - started;
      const onTrain = evaluate(vars, data.train, shape.classes);
      const onTest = evaluate(vars, data.test, shape.classes);
      history.push({ epoch, trainLoss: onTrain.loss, trainAccuracy: onTrain.accuracy, testLoss: onTest.loss, testAccuracy: onTest.accuracy });
    }
    return { weights: fromVariables(shape, vars), history, stepLosses, steps: step, msPerStep: trainMs / Math.max(step, 1) };
  } finally {
    progress.end();
    optimizer.dispose();
    disposeVariables(vars);
  }
}

export interface Batch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/** One batch as tensors: x (n, dim) and one-hot y (n, classes). The caller disposes them. */
export function batch(set: ImageSet, indices: number[], classes: number): Batch {
  const x = new Float32Array(indices.length * set.dim);
  const y = new Float32Array(indices.length * classes);
  indices.forEach((i, r) => {
    x.set(set.images.subarray(i * set.dim, (i + 1) * set.dim), r * set.dim);
    y[r * classes + set.labels[i]!] = 1;
  });
  return { x: tf.tensor2d(x, [indices.length, set.dim]), y: tf.tensor2d(y, [indices.length, classes]) };
}

/**
 * One optimiser step on the batch's mean cross-entropy plus `l1` · Σ|w|; returns the
 * cross-entropy alone, before the step.
 */
export function trainStep(vars: BilinearVariables, optimizer: AdamW, b: Batch, noise: TrainingNoise, lr: number, l1 = 0): number {
  const params = variableList(vars);
  const kept: { crossEntropy?: tf.Scalar } = {};
  const { value, grads } = tf.variableGrads(() => {
    const crossEntropy = tf.keep(tf.losses.softmaxCrossEntropy(b.y, forward(vars, b.x, noise)) as tf.Scalar);
    kept.crossEntropy = crossEntropy;
    if (l1 === 0) return crossEntropy;
    return tf.add(crossEntropy, tf.mul(l1, tf.addN(params.map((p) => tf.sum(tf.abs(p)))))) as tf.Scalar;
  }, params);
  optimizer.step(params.map((p) => grads[p.name]!), lr);
  const loss = kept.crossEntropy!.dataSync()[0]!;
  tf.dispose([value, kept.crossEntropy!, b.x, b.y, ...Object.values(grads)]);
  return loss;
}

/** Mean cross-entropy and accuracy over a whole set, in chunks to bound memory. */
export function evaluate(vars: BilinearVariables, set: ImageSet, classes: number): { loss: number; accuracy: number } {
  const chunk = 1000;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.n; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, set.n - start) }, (_, i) => start + i);
    const b = batch(set, indices, classes);
    const [loss, hits] = tf.tidy(() => {
      const logits = forward(vars, b.x);
      const total = tf.mul(tf.losses.softmaxCrossEntropy(b.y, logits), indices.length);
      const right = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(b.y, 1)), 'float32'));
      return [total.dataSync()[0]!, right.dataSync()[0]!];
    });
    tf.dispose([b.x, b.y]);
    lossSum += loss;
    correct += hits;
  }
  return { loss: lossSum / set.n, accuracy: correct / set.n };
}

function divergence(epoch: number, step: number, loss: number): PipelineError {
  return new PipelineError(`training diverged: loss is ${loss} at step ${step} (epoch ${epoch})`, {
    hint: 'lower the learning rate or the initial weight scale in the report spec',
  });
}
