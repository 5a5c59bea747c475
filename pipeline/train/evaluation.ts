/**
 * A model's held-out metrics under given scalars: the weights of a training job or an imported
 * checkpoint, read with, say, a gate's β forced to a value. The controls of a finetune need it
 * (the pretrained model at β = 0, without finetuning), and so does a run read at another β than
 * the one it stopped at. The validation and test splits, evaluated as training evaluates them.
 */
import * as tf from '@tensorflow/tfjs';
import { artifact, type Artifact } from '../cache/artifact.ts';
import { tensor } from '../tensors/safetensors.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import type { DataInfo } from '../data/job.ts';
import { PipelineError } from '../errors.ts';
import { modelKind, paramTensors } from '../models/kind.ts';
import { taskOf, type Task } from '../tasks/kind.ts';
import { modelWeights, type WeightsMeta } from './job.ts';

export interface EvaluationMeta {
  /** The model's description, and the scalars its forward pass read. */
  model: string;
  scalars: Record<string, number>;
  validation: Record<string, number>;
  test: Record<string, number>;
}

type EvaluationParams = { task: string; scalars: Record<string, number> };

const evaluateModel = defineJob<EvaluationMeta, { model: WeightsMeta; data: DataInfo }, EvaluationParams>({
  name: 'train/evaluation',
  stage: 'train',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, params) => {
    const { kind: kindName, shape, description } = inputs.model.meta.model;
    const kind = modelKind(kindName);
    const task = taskOf(params.task);
    const weights = modelWeights(inputs.model, kind, shape, 'the model to evaluate,');
    const data = task.prepare(inputs.data);
    const tensors = paramTensors(kind, shape, weights);
    try {
      const predict = (x: tf.Tensor) => kind.forward(shape, tensors, x, { scalars: params.scalars }).output;
      // With the task's per-example losses when it gives them: another model's on the same
      // examples make a paired comparison (analysis/paired-loss.ts).
      const each = (['validation', 'test'] as const).map((split) =>
        task.evaluateEach
          ? task.evaluateEach(predict, data, split)
          : { metrics: task.evaluate(predict, data, split), loss: null },
      );
      const [validation, test] = each.map((e) => e.metrics);
      for (const [split, metrics] of Object.entries({ validation, test }))
        for (const [name, value] of Object.entries(metrics!))
          if (!Number.isFinite(value))
            throw new PipelineError(`evaluation of ${description}: its ${split} ${name} is ${value}`, {
              exitCode: 1,
              hint: 'the weights or the scalars give NaN or infinite outputs',
            });
      const losses = Object.fromEntries(
        (['validation', 'test'] as const).flatMap((split, i) => {
          const loss = each[i]!.loss;
          return loss ? [[`${split}.loss`, tensor(loss, [loss.length])]] : [];
        }),
      );
      return artifact({
        meta: { model: description, scalars: params.scalars, validation: validation!, test: test! },
        tensors: losses,
      });
    } finally {
      tf.dispose(Object.values(tensors));
    }
  },
});

/**
 * The job that evaluates `model` on `data`'s held-out splits for `task`, its forward pass reading
 * `scalars`; refuses, at plan time, a scalar the model's kind does not read.
 */
export function evaluationJob(
  label: string,
  model: Job<WeightsMeta>,
  data: Job<DataInfo>,
  kind: { name: string; scalars: readonly string[]; module: string },
  task: Pick<Task, 'name' | 'module'>,
  scalars: Record<string, number>,
): Job<EvaluationMeta> {
  for (const [name, value] of Object.entries(scalars)) {
    if (!kind.scalars.includes(name))
      throw new PipelineError(`evaluation ${label}: a ${kind.name} model reads no scalar '${name}'`, {
        exitCode: 2,
        hint: kind.scalars.length ? `it reads ${kind.scalars.join(', ')}` : 'it reads none',
      });
    if (!Number.isFinite(value))
      throw new PipelineError(`evaluation ${label}: scalar '${name}' must be finite, got ${value}`, {
        exitCode: 2,
      });
  }
  return evaluateModel.create(
    label,
    { model, data },
    { task: task.name, scalars: { ...scalars } },
    {
      modules: [kind.module, task.module],
    },
  );
}

export function asEvaluation(a: Artifact | undefined, what = 'evaluation'): Artifact<EvaluationMeta> {
  return artifactOf(a, evaluateModel, what);
}
