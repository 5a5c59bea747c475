/**
 * The training job: one bilinear classifier, trained from a data artifact with the active
 * backend. Its artifact holds the weights (float32, math layout, as exported) and the history.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifact, requireTensor } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { dataMeta, splitOf } from '../data/job.ts';
import { tensor, type NamedTensor } from '../emit/safetensors.ts';
import { embedDim, type BilinearShape, type BilinearWeights } from '../models/bilinear.ts';
import type { BackendInfo } from './backend.ts';
import { trainClassifier, type EpochRecord, type TrainSettings } from './trainer.ts';

export interface ModelMeta {
  shape: BilinearShape;
  settings: TrainSettings;
  history: EpochRecord[];
  trainAccuracy: number;
  testAccuracy: number;
  testLoss: number;
  steps: number;
  msPerStep: number;
  provenance: {
    dataName: string;
    dataSource: string;
    dataHash: string;
    seed: number;
    backend: string;
    backendDetail: string;
    tfjsVersion: string;
  };
}

export function trainJob(label: string, data: Job, shape: BilinearShape, settings: TrainSettings, backend: BackendInfo): Job {
  return {
    stage: 'train',
    label,
    // The backend is part of the key: backends round differently, so results differ in the last bits.
    config: { shape: { ...shape }, settings: { ...settings }, backend: backend.name, backendDetail: backend.detail, tfjs: backend.tfjsVersion },
    deps: { data },
    run: async (ctx, inputs) => {
      const dataArtifact = inputs['data']!;
      const result = await trainClassifier(shape, settings, splitOf(dataArtifact), ctx.log);
      const last = result.history.at(-1)!;
      const source = dataMeta(dataArtifact);
      const meta: ModelMeta = {
        shape,
        settings,
        history: result.history,
        trainAccuracy: last.trainAccuracy,
        testAccuracy: last.testAccuracy,
        testLoss: last.testLoss,
        steps: result.steps,
        msPerStep: Math.round(result.msPerStep * 100) / 100,
        provenance: {
          dataName: source.name,
          dataSource: source.source,
          dataHash: source.hash,
          seed: settings.seed,
          backend: backend.name,
          backendDetail: backend.detail,
          tfjsVersion: backend.tfjsVersion,
        },
      };
      ctx.log.info(`  test accuracy ${(last.testAccuracy * 100).toFixed(2)}%, ${meta.msPerStep} ms/step on ${backend.name}`);
      return artifact({ meta: meta as unknown as Artifact['meta'], tensors: weightTensors(result.weights) });
    },
  };
}

/** Weights as named tensors: the names and layout of the published safetensors files. */
export function weightTensors(w: BilinearWeights): Record<string, NamedTensor> {
  const d = embedDim(w.shape);
  const out: Record<string, NamedTensor> = {
    W: tensor(w.W, [w.shape.hidden, d]),
    V: tensor(w.V, [w.shape.hidden, d]),
    P: tensor(w.P, [w.shape.classes, w.shape.hidden]),
  };
  if (w.E) out['E'] = tensor(w.E, [d, w.shape.input]);
  return out;
}

export function modelMeta(model: Artifact): ModelMeta {
  return model.meta as unknown as ModelMeta;
}

/** A model artifact's matrices with their shapes, for the decomposition engine. */
export function modelMatrices(model: Artifact) {
  const m = (name: string) => {
    const t = requireTensor(model, name, 'model');
    return { data: t.data, rows: t.shape[0]!, cols: t.shape[1]! };
  };
  return { W: m('W'), V: m('V'), P: m('P'), E: 'E' in model.tensors ? m('E') : null };
}
