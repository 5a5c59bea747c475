/** Analysis jobs: computations on trained models and data whose results feed figures and prose. */
import { artifact, type Json } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { splitOf } from '../data/job.ts';
import { classEigen, layerOf } from '../decompose/job.ts';
import { perturbationCheck, type PerturbationSettings } from './perturb.ts';
import { truncationStudy, type TruncationSettings } from './truncation-study.ts';

export function perturbationJob(label: string, deps: { data: Job; model: Job; eigen: Job }, settings: PerturbationSettings): Job {
  return {
    stage: 'analysis',
    label: `${label} (perturbation check)`,
    config: { analysis: 'perturbation', settings: { ...settings } },
    deps,
    run: async (_ctx, inputs) => {
      const layer = layerOf(inputs['model']!);
      const eigs = Array.from({ length: layer.c }, (_, a) => classEigen(inputs['eigen']!, a));
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
      const layer = layerOf(inputs['model']!);
      const eigs = Array.from({ length: layer.c }, (_, a) => classEigen(inputs['eigen']!, a));
      const result = truncationStudy(layer, eigs, splitOf(inputs['data']!), settings);
      return artifact({ meta: result as unknown as { [key: string]: Json } });
    },
  };
}
