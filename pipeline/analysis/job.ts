/** Analysis jobs: computations on trained models and data whose results feed figures and prose. */
import { requireTensor, type Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { splitOf, type DataMeta } from '../data/job.ts';
import { allEigens, layerOf, type EigenMeta } from '../decompose/job.ts';
import { tensor } from '../tensors/safetensors.ts';
import { type ModelMeta } from '../train/job.ts';
import { analyseRun, type AblationSettings, type RunScores } from './ablation.ts';
import { fourierCheck, type FourierCheck, type FourierSettings } from './fourier-check.ts';
import { adversarialMasks, type MaskRow, type MaskSettings } from './adversarial-masks.ts';
import { perturbationCheck, type PerturbationSettings, type SummaryRow, type UnitResult } from './perturb.ts';
import { truncationStudy, type TruncationResult, type TruncationSettings } from './truncation-study.ts';

/** What every analysis of one model reads: its data, its weights and its class eigendecompositions. */
type ModelInputs = { data: DataMeta; model: ModelMeta; eigen: EigenMeta };
type ModelJobs = { data: Job<DataMeta>; model: Job<ModelMeta>; eigen: Job<EigenMeta> };

export type PerturbationMeta = { settings: PerturbationSettings; summary: SummaryRow[]; units: UnitResult[] };

const perturbationKind = defineJob<PerturbationMeta, ModelInputs, PerturbationSettings>({
  name: 'analysis/perturbation',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, settings) => {
    const { train, test } = splitOf(inputs.data);
    const result = perturbationCheck(layerOf(inputs.model), allEigens(inputs.eigen), test, train, settings);
    return { meta: { settings, summary: result.summary, units: result.units }, tensors: {}, files: {} };
  },
});

export function perturbationJob(
  label: string,
  deps: ModelJobs,
  settings: PerturbationSettings,
): Job<PerturbationMeta> {
  return perturbationKind.create(`${label} (perturbation check)`, deps, settings, {
    modules: deps.model.modules,
  });
}

const truncationKind = defineJob<TruncationResult, ModelInputs, TruncationSettings>({
  name: 'analysis/truncation',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, settings) => ({
    meta: truncationStudy(layerOf(inputs.model), allEigens(inputs.eigen), splitOf(inputs.data), settings),
    tensors: {},
    files: {},
  }),
});

export function truncationJob(
  label: string,
  deps: ModelJobs,
  settings: TruncationSettings,
): Job<TruncationResult> {
  return truncationKind.create(`${label} (truncation)`, deps, settings, { modules: deps.model.modules });
}

/** The truncation artifact of an input known only by name, checked. */
export function asTruncation(a: Artifact | undefined, what = 'truncation'): Artifact<TruncationResult> {
  return artifactOf(a, truncationKind, what);
}

export type AblationMeta = { settings: AblationSettings; scores: RunScores };

/**
 * One ablation run's scores, its top features per class (for cross-seed similarity) and its top positive
 * eigenvectors (for galleries).
 */
const ablationKind = defineJob<AblationMeta, ModelInputs, AblationSettings>({
  name: 'analysis/ablation',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, settings) => {
    const layer = layerOf(inputs.model);
    const result = analyseRun(layer, allEigens(inputs.eigen), splitOf(inputs.data), settings);
    const top = result.features[0]!.length;
    const flat = (rows: Float64Array[]) => {
      const out = new Float64Array(rows.length * layer.input);
      rows.forEach((row, i) => out.set(row, i * layer.input));
      return out;
    };
    return {
      meta: { settings, scores: result.scores },
      tensors: {
        features: tensor(flat(result.features.flat()), [layer.c, top, layer.input]),
        topPositive: tensor(flat(result.topPositive.map((p) => p.feature)), [layer.c, layer.input]),
        topPositiveValues: tensor(
          Float64Array.from(result.topPositive, (p) => p.eigenvalue),
          [layer.c],
        ),
      },
      files: {},
    };
  },
});

export function ablationJob(label: string, deps: ModelJobs, settings: AblationSettings): Job<AblationMeta> {
  return ablationKind.create(`${label} (ablation metrics)`, deps, settings, { modules: deps.model.modules });
}

/** An ablation artifact read back: scores, features [class][rank], top positive eigenvectors [class]. */
export function ablationOf(input: Artifact | undefined): {
  scores: RunScores;
  features: Float64Array[][];
  topPositive: { feature: Float64Array; eigenvalue: number }[];
} {
  const a = artifactOf(input, ablationKind, 'ablation analysis');
  const features = requireTensor(a, 'features', 'ablation analysis');
  const [c, top, input_] = features.shape as [number, number, number];
  const data = features.data as Float64Array;
  const positive = requireTensor(a, 'topPositive', 'ablation analysis').data as Float64Array;
  const values = requireTensor(a, 'topPositiveValues', 'ablation analysis').data as Float64Array;
  return {
    scores: a.meta.scores,
    features: Array.from({ length: c }, (_, k) =>
      Array.from({ length: top }, (_, r) =>
        data.subarray((k * top + r) * input_, (k * top + r + 1) * input_),
      ),
    ),
    topPositive: Array.from({ length: c }, (_, k) => ({
      feature: positive.subarray(k * input_, (k + 1) * input_),
      eigenvalue: values[k]!,
    })),
  };
}

type EigenInputs = { model: ModelMeta; eigen: EigenMeta };

/** The Fourier check of a modular-addition model (analysis/fourier-check.ts). */
const fourierKind = defineJob<FourierCheck, EigenInputs, FourierSettings>({
  name: 'analysis/fourier',
  stage: 'analysis',
  module: import.meta.url,
  run: async (_ctx, inputs, settings) => ({
    meta: fourierCheck(layerOf(inputs.model), allEigens(inputs.eigen), settings),
    tensors: {},
    files: {},
  }),
});

export function fourierJob(
  label: string,
  deps: { model: Job<ModelMeta>; eigen: Job<EigenMeta> },
  settings: FourierSettings,
): Job<FourierCheck> {
  return fourierKind.create(`${label} (Fourier check)`, deps, settings, { modules: deps.model.modules });
}

/** The Fourier check artifact of an input known only by name, checked. */
export function asFourier(a: Artifact | undefined, what = 'Fourier check'): Artifact<FourierCheck> {
  return artifactOf(a, fourierKind, what);
}

export type MaskMeta = { settings: MaskSettings; rows: MaskRow[]; rarePixels: number };

/** Adversarial masks from one model's eigenvectors (analysis/adversarial-masks.ts). */
const maskKind = defineJob<MaskMeta, ModelInputs, MaskSettings>({
  name: 'analysis/adversarial-masks',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, settings) => {
    const layer = layerOf(inputs.model);
    const result = adversarialMasks(layer, allEigens(inputs.eigen), splitOf(inputs.data), settings);
    const [targets, ks] = [settings.targets.length, settings.ks.length];
    const masks = new Float64Array(targets * ks * layer.input);
    result.masks.forEach((perK, t) => perK.forEach((m, j) => masks.set(m, (t * ks + j) * layer.input)));
    const encoders = new Float64Array(targets * layer.input);
    result.encoders.forEach((g, t) => encoders.set(g, t * layer.input));
    return {
      meta: { settings, rows: result.rows, rarePixels: result.rarePixels },
      tensors: {
        masks: tensor(masks, [targets, ks, layer.input]),
        encoders: tensor(encoders, [targets, layer.input]),
      },
      files: {},
    };
  },
});

export function adversarialMaskJob(label: string, deps: ModelJobs, settings: MaskSettings): Job<MaskMeta> {
  return maskKind.create(`${label} (adversarial masks)`, deps, settings, { modules: deps.model.modules });
}

/** A mask artifact read back: its rows, and each target's masks [k] and first encoder. */
export function masksOf(input: Artifact | undefined): {
  meta: MaskMeta;
  masks: Float64Array[][];
  encoders: Float64Array[];
} {
  const a = artifactOf(input, maskKind, 'adversarial masks');
  const m = requireTensor(a, 'masks', 'adversarial masks');
  const [targets, ks, pixels] = m.shape as [number, number, number];
  const data = m.data as Float64Array;
  const g = requireTensor(a, 'encoders', 'adversarial masks').data as Float64Array;
  return {
    meta: a.meta,
    masks: Array.from({ length: targets }, (_, t) =>
      Array.from({ length: ks }, (_, j) => data.subarray((t * ks + j) * pixels, (t * ks + j + 1) * pixels)),
    ),
    encoders: Array.from({ length: targets }, (_, t) => g.subarray(t * pixels, (t + 1) * pixels)),
  };
}
