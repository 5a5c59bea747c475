/**
 * Continuations of fixed prompts by each language model, greedy and sampled, as one cached job:
 * the sampling happens here, through each model's kind (its `sample`), and the figure only draws
 * the texts. The job's code version covers the kinds' modules, so a change to a sampler redoes it.
 */
import { asJson, type Artifact } from '../cache/artifact.ts';
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
import { rangeFingerprint, verifiedBytes, type ByteRange } from '../data/llama-files.ts';
import { readLlamaTokenizer } from '../data/llama-tokenizer.ts';
import { asWeights, modelWeights, type WeightsMeta } from '../train/job.ts';

export interface ContinuationSettings {
  /**
   * The models, by input name, with the label the figure gives each, and the scalars its forward
   * pass reads while sampling (a gate's β; absent: its shape's).
   */
  models: { key: string; label: string; scalars?: Record<string, number> }[];
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

type Inputs = Record<string, WeightsMeta | VocabularyWindowsMeta>;

/** The job's parameters: the settings, and the tokenizer (SHA-256, size) when models read Llama ids. */
type Params = ContinuationSettings & { tokenizer: { sha256: string; vocab: number } | null };

const continuationsKind = defineJob<ContinuationsMeta, Inputs, Params>({
  name: 'analysis/continuations',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (ctx, inputs, params) => {
    const at = ctx.locations as unknown as { tokenizer?: ByteRange };
    const text = params.tokenizer
      ? llamaText(at.tokenizer!, params.tokenizer.sha256, params.tokenizer.vocab)
      : compactText(inputs['windows']);
    return { meta: { rows: continuations(inputs, params, text) }, tensors: {}, files: {} };
  },
});

/**
 * Each model's continuations of the prompts; `deps` holds every model by its key. Models that read
 * a compact vocabulary need the windows that define it in `deps` (as `windows`); models that read
 * Llama ids need the `tokenizer` file and its size, to write their continuations out. The models' modules
 * (their kinds, which sample) are the job's too.
 */
export function continuationsJob(
  label: string,
  deps: Deps<Inputs>,
  settings: ContinuationSettings,
  tokenizer?: { range: ByteRange; vocab: number },
): Job<ContinuationsMeta> {
  // Every input's modules: the models' kinds (trained or imported), whose samplers run here.
  const modules = [...new Set(Object.values<Job>(deps).flatMap((m) => m.modules))];
  const params: Params = {
    ...settings,
    tokenizer: tokenizer ? { sha256: rangeFingerprint(tokenizer.range), vocab: tokenizer.vocab } : null,
  };
  return continuationsKind.create(label, deps, params, {
    modules,
    ...(tokenizer ? { locations: asJson({ tokenizer: { ...tokenizer.range } }) } : {}),
  });
}

export function asContinuations(a: Artifact | undefined): Artifact<ContinuationsMeta> {
  return artifactOf(a, continuationsKind, 'continuations');
}

/** How prompts reach a model and its tokens come back as text. */
interface TextCodec {
  encode(llama: number[]): number[];
  decode(ids: number[]): string;
  /** The tokens that end a sequence (undefined: the sampler's default, BOS and EOS). */
  stop?: number[];
}

/** A model of a compact vocabulary (corpus/vocabulary.ts): ids mapped, BOS ends a sequence. */
function compactText(windows: Artifact | undefined): TextCodec {
  const vocabulary = asVocabularyWindows(windows).meta.vocabulary;
  return {
    encode: (llama) => compactIds(vocabulary.llama, llama),
    decode: (ids) => decodeCompact(vocabulary, ids),
    stop: [BOS],
  };
}

/** A model of the Llama vocabulary itself: prompts as they are, decoded by the tokenizer. */
function llamaText(range: ByteRange, sha256: string, vocab: number): TextCodec {
  const tokenizer = readLlamaTokenizer(verifiedBytes(range, sha256), vocab, range.name);
  return { encode: (llama) => llama, decode: (ids) => tokenizer.decode(ids) };
}

/** Llama ids in the vocabulary's compact ids (types it lacks → <unk>). */
function compactIds(llamaOf: readonly number[], ids: number[]): number[] {
  return Array.from(
    compactStream(Int32Array.from(ids), compactMap(llamaOf, Math.max(...llamaOf, ...ids) + 1)).ids,
  );
}

function continuations(
  inputs: Record<string, Artifact | undefined>,
  settings: ContinuationSettings,
  text: TextCodec,
) {
  const prompts = settings.prompts.map((q) => text.encode(q.llama));
  const rows: ContinuationRow[] = [];
  for (const { key, label, scalars } of settings.models) {
    const model = asWeights(inputs[key], label);
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
        ...(text.stop ? { stop: text.stop } : {}),
        ...(scalars ? { scalars } : {}),
      });
      out.tokens.forEach((ids, i) =>
        rows.push({
          model: label,
          prompt: settings.prompts[i]!.text,
          decoding,
          continuation: text.decode(ids),
          finished: out.finished[i]!,
        }),
      );
    }
  }
  return rows;
}
