/**
 * The training job: one model of any kind, trained on a task from a data artifact with the active
 * backend, optionally starting from another training job's weights (finetuning; that job is then
 * an input, so its key is part of this one's). Its artifact holds the weights (float32, math
 * layout, as published) and the training history.
 */
import type { Json } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import type { Artifact } from '../cache/artifact.ts';
import type { DataInfo } from '../data/job.ts';
import {
  checkWeights,
  modelKind,
  type BilinearLayerParts,
  type ModelKind,
  type Weights,
} from '../models/kind.ts';
import { PipelineError } from '../errors.ts';
import { taskOf, type Task } from '../tasks/kind.ts';
import { tensor, type NamedTensor } from '../tensors/safetensors.ts';
import type { BackendInfo } from './backend.ts';
import { checkSupported, train, type EpochRecord, type TrainResult, type TrainSettings } from './trainer.ts';

/** What any model artifact says of its model: enough to read its weights (modelWeights). */
export interface WeightsMeta {
  model: { kind: string; shape: Json; description: string };
}

export type ModelMeta = WeightsMeta & {
  task: string;
  settings: TrainSettings;
  history: EpochRecord[];
  /**
   * Every task metric after the last epoch, on the whole of each split (the training split's on
   * the `monitored` sample when the settings' finalTrain is 'sample').
   */
  final: TrainResult['final'];
  /** How many training examples each epoch's `history[].train` is over (a fixed sample of large sets). */
  monitored: number;
  /** The training job this run started from, by key, when finetuned. */
  startedFrom: string | null;
  steps: number;
  /** Training examples read over every step (epochs × the split, when the epochs are whole). */
  examples: number;
  /** Mean time of a training step, evaluations excluded. */
  msPerStep: number;
  /** Time of the whole run, evaluations included. */
  wallMs: number;
  provenance: {
    dataName: string;
    dataSource: string;
    dataHash: string;
    seed: number;
    backend: string;
    backendDetail: string;
    tfjsVersion: string;
  };
};

type TrainParams = {
  model: { kind: string; shape: Json };
  /** 'bilinear': the trained weights are kept in their kind's bilinear form (TrainJobOptions). */
  form?: 'bilinear';
  task: string;
  settings: TrainSettings;
  // The backend is part of the key: backends round differently, so results differ in the last bits.
  backend: { name: string; detail: string; tfjs: string };
};

const trainModel = defineJob<ModelMeta, { data: DataInfo; init?: WeightsMeta }, TrainParams>({
  name: 'train/model',
  stage: 'train',
  module: import.meta.url,
  heavy: true,
  run: async (ctx, inputs, params) => {
    const kind = modelKind(params.model.kind);
    const task = taskOf(params.task);
    // The run to finetune from must fit this run's layout exactly.
    const start = inputs.init
      ? modelWeights(inputs.init, kind, params.model.shape, 'the weights to finetune from, of')
      : undefined;
    const result = await train(
      {
        kind,
        shape: params.model.shape,
        task,
        data: task.prepare(inputs.data),
        settings: params.settings,
        ...(start ? { start } : {}),
      },
      ctx.log,
    );
    const data = inputs.data.meta;
    const kept = params.form === 'bilinear' ? bilinearFormOf(kind, params.model.shape, result.weights) : null;
    const shape = kept?.shape ?? params.model.shape;
    const meta: ModelMeta = {
      model: { kind: params.model.kind, shape, description: kind.describe(shape) },
      task: task.name,
      settings: params.settings,
      history: result.history,
      final: result.final,
      monitored: result.monitored,
      startedFrom: inputs.init ? keyOf(ctx.deps, 'init') : null,
      steps: result.steps,
      examples: result.examples,
      msPerStep: Math.round(result.msPerStep * 100) / 100,
      wallMs: Math.round(result.wallMs),
      provenance: {
        dataName: data.name,
        dataSource: data.source,
        dataHash: data.hash,
        seed: params.settings.seed,
        backend: params.backend.name,
        backendDetail: params.backend.detail,
        tfjsVersion: params.backend.tfjs,
      },
    };
    const headline = Object.entries(result.final.validation)
      .map(([name, value]) => `${name} ${value.toFixed(4)}`)
      .join(', ');
    ctx.log.info(`  validation ${headline}; ${meta.msPerStep} ms/step on ${params.backend.name}`);
    return { meta, tensors: weightTensors(kind, shape, kept?.weights ?? result.weights), files: {} };
  },
});

export interface ModelSpec<S extends Json = Json> {
  kind: ModelKind<S>;
  shape: S;
}

export interface TrainJobOptions {
  /**
   * Start from these weights instead of the kind's initialisation: another training job's, or an
   * imported checkpoint's (train/pretrained.ts).
   */
  init?: Job<WeightsMeta>;
  /**
   * Keep the trained model in its kind's bilinear form (e.g. a gated MLP trained to β = 0 written
   * with plainly bilinear weights): the same function, published as what it is.
   */
  bilinearForm?: boolean;
}

function bilinearFormOf(kind: ModelKind, shape: Json, weights: Weights): { shape: Json; weights: Weights } {
  if (!kind.bilinearForm)
    throw new PipelineError(`a ${kind.name} model has no bilinear form (models/kind.ts: bilinearForm)`, {
      exitCode: 2,
    });
  return kind.bilinearForm(shape, weights);
}

/** A training job: `model` (kind and shape) on `task`, from `data`'s artifact. */
export function trainJob<S extends Json>(
  label: string,
  data: Job<DataInfo>,
  model: ModelSpec<S>,
  task: Pick<Task, 'name' | 'module'>,
  settings: TrainSettings,
  backend: BackendInfo,
  options: TrainJobOptions = {},
): Job<ModelMeta> {
  const shape = model.kind.checkShape(model.shape) as Json;
  checkSupported(model.kind, settings);
  // a bilinear form that cannot exist is refused now, not after hours of training
  if (options.bilinearForm && !model.kind.bilinearForm)
    throw new PipelineError(`${label}: a ${model.kind.name} model has no bilinear form to keep`, {
      exitCode: 2,
    });
  const params: TrainParams = {
    model: { kind: model.kind.name, shape },
    ...(options.bilinearForm ? { form: 'bilinear' as const } : {}),
    task: task.name,
    settings: { ...settings },
    backend: { name: backend.name, detail: backend.detail, tfjs: backend.tfjsVersion },
  };
  return trainModel.create(label, { data, ...(options.init ? { init: options.init } : {}) }, params, {
    modules: [model.kind.module, task.module],
  });
}

function keyOf(deps: Record<string, string>, name: string): string {
  const key = deps[name];
  if (!key) throw new Error(`the job context names no key for its input '${name}'`);
  return key;
}

/** The model artifact of an input known only by name (e.g. one run of a sweep), checked. */
export function asModel(a: Artifact | undefined, what = 'model'): Artifact<ModelMeta> {
  return artifactOf(a, trainModel, what);
}

/**
 * An input that carries a model's weights, whichever job made it (a training run, an imported
 * checkpoint): its meta names the model's kind and shape.
 */
export function asWeights(a: Artifact | undefined, what = 'model'): Artifact<WeightsMeta> {
  if (!a) throw new Error(`${what}: input is missing`);
  const model = (a.meta as { model?: { kind?: unknown } } | null)?.model;
  if (typeof model?.kind !== 'string')
    throw new Error(`${what}: expected a model's weights, got an artifact of '${a.kind ?? 'unknown'}'`);
  return a as Artifact<WeightsMeta>;
}

/** Weights as named tensors in the kind's layout: the names and shapes of the published files. */
export function weightTensors(kind: ModelKind, shape: Json, weights: Weights): Record<string, NamedTensor> {
  const layout = kind.layout(shape);
  return Object.fromEntries(Object.keys(layout).map((name) => [name, tensor(weights[name]!, layout[name]!)]));
}

/** A model artifact's weights, checked against `kind`'s layout for `shape` (by default its own). */
export function modelWeights(
  model: Artifact<WeightsMeta>,
  kind = modelKind(model.meta.model.kind),
  shape = model.meta.model.shape,
  role = 'model',
): Weights {
  const weights = Object.fromEntries(
    Object.entries(model.tensors).map(([name, t]) => {
      if (!(t.data instanceof Float32Array))
        throw new Error(
          `${role} ${model.meta.model.description}: tensor '${name}' is ${t.dtype}; weights are F32`,
        );
      return [name, t.data];
    }),
  );
  checkWeights(kind, shape, weights, `${role} ${model.meta.model.description}`);
  return weights;
}

/** The bilinear layers of a trained model, as its kind defines them. */
export function bilinearLayersOf(model: Artifact<ModelMeta>): BilinearLayerParts[] {
  return modelKind(model.meta.model.kind).bilinearLayers(model.meta.model.shape, modelWeights(model));
}

export { trainModel };
