/**
 * Continuations of fixed prompts by each language model, greedy and sampled, as one cached job:
 * the sampling happens here, through each model's kind (its `sample`), and the figure only draws
 * the texts. The job's code version covers the kinds' modules, so a change to a sampler redoes it.
 */
import type { Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Deps, type Job } from '../cache/job.ts';
import {
  asVocabularyWindows,
  BOS,
  compactMap,
  compactStream,
  decodeCompact,
  type VocabularyWindowsMeta,
} from '../corpus/vocabulary.ts';
import { PipelineError } from '../errors.ts';
import { modelKind } from '../models/kind.ts';
import { asModel, modelWeights, type ModelMeta } from '../train/job.ts';

export interface ContinuationSettings {
  /** The models, by input name, with the label the figure gives each. */
  models: { key: string; label: string }[];
  /** Each prompt as text and in Llama ids (BOS first), encoded at plan time. */
  prompts: { text: string; llama: number[] }[];
  /** New tokens at most: the longest prompt and these fit in the context. */
  maxTokens: number;
  /** The sampled continuation's settings (the other is greedy). */
  temperature: number;
  topP: number;
  seed: number;
}

export interface ContinuationRow {
  model: string;
  prompt: string;
  decoding: string;
  continuation: string;
  /** Whether the sequence ended by itself (BOS) rather than at maxTokens. */
  finished: boolean;
}

export interface ContinuationsMeta {
  rows: ContinuationRow[];
}

type Inputs = Record<string, ModelMeta | VocabularyWindowsMeta>;

const continuationsKind = defineJob<ContinuationsMeta, Inputs, ContinuationSettings>({
  name: 'analysis/continuations',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, settings) => ({
    meta: { rows: continuations(inputs, settings) },
    tensors: {},
    files: {},
  }),
});

/**
 * Each model's continuations of the prompts; `deps` holds the windows and every model by its key.
 * The models' modules (their kinds, which sample) are the job's too.
 */
export function continuationsJob(
  label: string,
  deps: Deps<Inputs>,
  settings: ContinuationSettings,
): Job<ContinuationsMeta> {
  const models = Object.values<Job>(deps).filter((job) => job.stage === 'train');
  const modules = [...new Set(models.flatMap((m) => m.modules))];
  return continuationsKind.create(label, deps, settings, { modules });
}

export function asContinuations(a: Artifact | undefined): Artifact<ContinuationsMeta> {
  return artifactOf(a, continuationsKind, 'continuations');
}

/** Llama ids in the vocabulary's compact ids (types it lacks → <unk>). */
function compactIds(llamaOf: readonly number[], ids: number[]): number[] {
  return Array.from(
    compactStream(Int32Array.from(ids), compactMap(llamaOf, Math.max(...llamaOf, ...ids) + 1)).ids,
  );
}

function continuations(inputs: Record<string, Artifact | undefined>, settings: ContinuationSettings) {
  const vocabulary = asVocabularyWindows(inputs['windows']).meta.vocabulary;
  const prompts = settings.prompts.map((q) => compactIds(vocabulary.llama, q.llama));
  const rows: ContinuationRow[] = [];
  for (const { key, label } of settings.models) {
    const model = asModel(inputs[key], label);
    const kind = modelKind(model.meta.model.kind);
    if (!kind.sample)
      throw new PipelineError(
        `${label}: a '${kind.name}' model cannot continue prompts (its kind has no sampler)`,
      );
    const weights = modelWeights(model);
    const decodings = [
      ['greedy', { temperature: 0, topP: 1 }],
      [
        `sampled (T = ${settings.temperature}, top-p ${settings.topP})`,
        { temperature: settings.temperature, topP: settings.topP },
      ],
    ] as const;
    for (const [decoding, sampling] of decodings) {
      const out = kind.sample(model.meta.model.shape, weights, prompts, {
        ...sampling,
        maxTokens: settings.maxTokens,
        seed: settings.seed,
        stop: [BOS],
      });
      out.tokens.forEach((ids, i) =>
        rows.push({
          model: label,
          prompt: settings.prompts[i]!.text,
          decoding,
          continuation: decodeCompact(vocabulary, ids),
          finished: out.finished[i]!,
        }),
      );
    }
  }
  return rows;
}
