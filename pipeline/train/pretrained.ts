/**
 * A pretrained llama2.c checkpoint as a model artifact: its weights in the llama kind's layout
 * (float32, the names and shapes a trained model publishes), so that a training job can finetune
 * from it (trainJob's `init`) and anything that reads a model artifact's weights reads it the
 * same way. Keyed by the checkpoint's SHA-256: another file is another artifact.
 */
import { artifact, asJson, type Artifact, type Json } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { readLlamaCheckpoint } from '../data/llama-checkpoint.ts';
import { rangeFingerprint, verifiedBytes, type ByteRange } from '../data/llama-files.ts';
import { llama, llamaFromCheckpoint } from '../models/llama.ts';
import { weightTensors, type WeightsMeta } from './job.ts';

export interface PretrainedMeta extends WeightsMeta {
  /** Where the weights came from: the file's name as pages show it, and its SHA-256. */
  source: { name: string; sha256: string };
}

const importCheckpoint = defineJob<PretrainedMeta, Record<string, never>, { checkpoint: string }>({
  name: 'train/pretrained',
  // Read from a file, not trained: a data job, built at once and never counted as a training run.
  stage: 'data',
  module: import.meta.url,
  run: async (ctx, _inputs, params) => {
    const at = (ctx.locations as unknown as { checkpoint: ByteRange }).checkpoint;
    const checkpoint = readLlamaCheckpoint(verifiedBytes(at, params.checkpoint), at.name);
    const { shape, weights } = llamaFromCheckpoint(checkpoint);
    const json = shape as unknown as Json;
    return artifact({
      meta: {
        model: { kind: llama.name, shape: json, description: llama.describe(shape) },
        source: { name: at.name, sha256: params.checkpoint },
      },
      tensors: weightTensors(llama, json, weights),
    });
  },
});

/** The job that imports the checkpoint at `range` (its bytes are hashed now, and checked when it runs). */
export function pretrainedJob(label: string, range: ByteRange): Job<PretrainedMeta> {
  return importCheckpoint.create(
    label,
    {},
    { checkpoint: rangeFingerprint(range) },
    { locations: asJson({ checkpoint: { ...range } }) },
  );
}

export function asPretrained(a: Artifact | undefined, what = 'pretrained model'): Artifact<PretrainedMeta> {
  return artifactOf(a, importCheckpoint, what);
}
