/** Analysis jobs: computations on trained models and data whose results feed figures and prose. */
import { artifact, requireTensor, type Artifact, type Json } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { splitOf } from '../data/job.ts';
import { classEigen, layerOf } from '../decompose/job.ts';
import { tensor } from '../emit/safetensors.ts';
import { analyseRun, type AblationSettings, type RunScores } from './ablation.ts';
import { perturbationCheck, type PerturbationSettings } from './perturb.ts';
import { truncationStudy, type TruncationSettings } from './truncation-study.ts';

/** The model's layer and each class's eigendecomposition, from a job's `model` and `eigen` inputs. */
function layerAndEigens(inputs: Record<string, Artifact>) {
  const layer = layerOf(inputs['model']!);
  return { layer, eigs: Array.from({ length: layer.c }, (_, a) => classEigen(inputs['eigen']!, a)) };
}

export function perturbationJob(label: string, deps: { data: Job; model: Job; eigen: Job }, settings: PerturbationSettings): Job {
  return {
    stage: 'analysis',
    label: `${label} (perturbation check)`,
    config: { analysis: 'perturbation', settings: { ...settings } },
    deps,
    run: async (_ctx, inputs) => {
      const { layer, eigs } = layerAndEigens(inputs);
      const { train, test } = splitOf(inputs['data']!);
      const result = perturbationCheck(layer, eigs, test, train, settings);
      return artifact({ meta: { settings: { ...settings }, summary: result.summary, units: result.units } as unknown as { [key: string]: Json } });
    },
  };
}

export function truncationJob(label: string, deps: { data: Job; model: Job; eigen: Job }, settings: TruncationSettings): Job {
  return {
    stage: 'analysis',
    label: `${label} (truncation)`,
    config: { analysis: 'truncation', settings: { ...settings, ks: [...settings.ks] } },
    deps,
    run: async (_ctx, inputs) => {
      const { layer, eigs } = layerAndEigens(inputs);
      const result = truncationStudy(layer, eigs, splitOf(inputs['data']!), settings);
      return artifact({ meta: result as unknown as { [key: string]: Json } });
    },
  };
}

/** One ablation run's scores, its top features per class (for cross-seed similarity) and its top positive eigenvectors (for galleries). */
export function ablationJob(label: string, deps: { data: Job; model: Job; eigen: Job }, settings: AblationSettings): Job {
  return {
    stage: 'analysis',
    label: `${label} (ablation metrics)`,
    config: { analysis: 'ablation', settings: { ...settings } },
    deps,
    run: async (_ctx, inputs) => {
      const { layer, eigs } = layerAndEigens(inputs);
      const result = analyseRun(layer, eigs, splitOf(inputs['data']!), settings);
      const top = result.features[0]!.length;
      const flat = (rows: Float64Array[]) => {
        const out = new Float64Array(rows.length * layer.input);
        rows.forEach((row, i) => out.set(row, i * layer.input));
        return out;
      };
      return artifact({
        meta: { settings: { ...settings }, scores: { ...result.scores } },
        tensors: {
          features: tensor(flat(result.features.flat()), [layer.c, top, layer.input]),
          topPositive: tensor(flat(result.topPositive.map((p) => p.feature)), [layer.c, layer.input]),
          topPositiveValues: tensor(Float64Array.from(result.topPositive, (p) => p.eigenvalue), [layer.c]),
        },
      });
    },
  };
}

/** An ablation artifact read back: scores, features [class][rank], top positive eigenvectors [class]. */
export function ablationOf(a: Artifact): { scores: RunScores; features: Float64Array[][]; topPositive: { feature: Float64Array; eigenvalue: number }[] } {
  const features = requireTensor(a, 'features', 'ablation analysis');
  const [c, top, input] = features.shape as [number, number, number];
  const data = features.data as Float64Array;
  const positive = requireTensor(a, 'topPositive', 'ablation analysis').data as Float64Array;
  const values = requireTensor(a, 'topPositiveValues', 'ablation analysis').data as Float64Array;
  return {
    scores: a.meta['scores'] as unknown as RunScores,
    features: Array.from({ length: c }, (_, k) => Array.from({ length: top }, (_, r) => data.subarray((k * top + r) * input, (k * top + r + 1) * input))),
    topPositive: Array.from({ length: c }, (_, k) => ({ feature: positive.subarray(k * input, (k + 1) * input), eigenvalue: values[k]! })),
  };
}
