/**
 * Story corpora for the language models, as two jobs:
 *
 *   1) `corpus/stories`: the stories as token ids, split by story into train, validation and test
 *      (a seeded split; validation for curves and choices, test once for final numbers), with the
 *      corpus card. Its stories come from a TinyStories-format file the user names (`--tinystories`),
 *      or by default are sampled from the pretrained stories15M with a fixed seed, in shards
 *      (corpus/shards.ts: the expensive part, each shard cached once however the windows below
 *      are cut);
 *   2) `corpus/windows`: each split's stories, BOS before each, as one stream cut into windows of
 *      T + 1 tokens at stride T (every token is a target once), the token data of tasks/next-token.
 *
 * Keys hold the SHA-256 of the checkpoint, the tokenizer and the stories file, never their paths.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { asJson, artifact, requireTensor, type Artifact, type Json } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import type { DataInfo } from '../data/job.ts';
import { rangeFingerprint, verifiedBytes, type ByteRange } from '../data/llama-files.ts';
import { readLlamaTokenizer, type LlamaTokenizer } from '../data/llama-tokenizer.ts';
import { readStoriesFile, splitStories } from '../data/stories.ts';
import { fileFingerprint } from '../data/fingerprint.ts';
import { PipelineError } from '../errors.ts';
import type { SampleSettings } from '../models/llama-generate.ts';
import { tensor } from '../tensors/safetensors.ts';
import { asShard, shardJobs, shardStories, storyStream, streamStories, type ShardMeta } from './shards.ts';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type CorpusSplit = (typeof SPLITS)[number];

/**
 * Stories sampled from a llama2.c checkpoint, from BOS, `batch` at a time, `shardBatches` batches per shard.
 */
export type SampledStories = {
  kind: 'sampled';
  checkpoint: string;
  stories: number;
  batch: number;
  shardBatches: number;
  sampling: SampleSettings;
};
/** Stories read from a TinyStories-format file (the first `limit`, when given). */
export type FileStories = { kind: 'file'; file: string; limit: number | null };

export interface CorpusSettings {
  /** Share of the stories held out, split in half between validation and test. */
  heldOut: number;
  seed: number;
}

/** Vocabulary sizes at which the card reports coverage (4,096 is the paper's language-model vocabulary). */
export const COVERAGE_AT = [256, 512, 1024, 2048, 4096];

/** What a reader needs to judge the corpus: its size, its vocabulary, examples, and how it was made. */
export type CorpusCard = {
  /** How the stories were made, in words. */
  source: string;
  settings: Json;
  stories: Record<CorpusSplit, number>;
  /** Tokens per split, counting the BOS before each story. */
  tokens: Record<CorpusSplit, number>;
  meanTokensPerStory: number;
  /** Sampled corpora: sequences that reached the token limit before ending, dropped. */
  unfinished: number | null;
  vocabulary: {
    size: number;
    /** Token types that occur in the training split. */
    seenInTrain: number;
    /** Share of training tokens covered by the most frequent N types. */
    coverage: { top: number; share: number }[];
    /** Share of held-out (validation and test) tokens whose type never occurs in training. */
    heldOutUnseen: number;
  };
  /** The first validation stories, as text. */
  samples: string[];
};

export type CorpusMeta = DataInfo & { vocabSize: number; card: CorpusCard };

type StoriesParams = {
  source: SampledStories | FileStories;
  tokenizer: string;
  split: CorpusSettings;
  samples: number;
  /** Sampling rounds differently per backend, so a sampled corpus's key holds the backend. */
  backend: { name: string; detail: string; tfjs: string } | null;
};
type StoriesLocations = { tokenizer: ByteRange; file?: string; description: string };

const corpusStories = defineJob<CorpusMeta, Record<string, ShardMeta>, StoriesParams>({
  name: 'corpus/stories',
  stage: 'data',
  module: import.meta.url,
  heavy: true,
  run: async (ctx, inputs, params) => {
    const at = ctx.locations as unknown as StoriesLocations;
    const tokenizerBytes = verifiedBytes(at.tokenizer, params.tokenizer);
    const { source } = params;
    const shards = source.kind === 'sampled' ? shardsInOrder(inputs) : [];
    const tokenizer = readLlamaTokenizer(
      tokenizerBytes,
      shards[0]?.meta.vocab ?? tokenizerVocab(tokenizerBytes),
      at.tokenizer.name,
    );
    const { stories, unfinished } =
      source.kind === 'sampled'
        ? {
            stories: shards.flatMap(shardStories),
            unfinished: shards.reduce((n, s) => n + s.meta.unfinished, 0),
          }
        : fileStories(at.file!, source, tokenizer);
    const needed = storiesNeeded(params.split.heldOut);
    if (stories.length < needed)
      throw new PipelineError(
        `${at.description}: ${stories.length} stories cannot make train, ` +
          `validation and test splits (with ${params.split.heldOut} of them held ` +
          `out, at least ${needed} are needed)`,
        { exitCode: 2, hint: 'use more stories, or hold out a larger share' },
      );
    const { train, heldOut } = splitStories(stories, params.split.heldOut, params.split.seed);
    const { train: validation, heldOut: test } = splitStories(heldOut, 0.5, params.split.seed + 1);
    const splits = { train, validation, test };
    const streams = Object.fromEntries(SPLITS.map((s) => [s, storyStream(splits[s])])) as Record<
      CorpusSplit,
      { stream: Int32Array; starts: Int32Array }
    >;
    const card = corpusCard(splits, streams, tokenizer, at.description, params, unfinished);
    ctx.log.info(
      `  ${card.stories.train} / ${card.stories.validation} / ` +
        `${card.stories.test} stories, ${card.tokens.train} training tokens (${at.description})`,
    );
    const tensors = Object.fromEntries(
      SPLITS.flatMap((s) => [
        [`${s}.stream`, tensor(streams[s].stream, [streams[s].stream.length])],
        [`${s}.starts`, tensor(streams[s].starts, [streams[s].starts.length])],
      ]),
    );
    // The stories as made (sampled stories differ by backend): the hash of every split's tokens.
    const digest = createHash('sha256');
    for (const s of SPLITS) digest.update(streams[s].stream).update(streams[s].starts);
    const hash = digest.digest('hex');
    return artifact({
      meta: { name: 'stories', source: at.description, hash, vocabSize: tokenizer.vocabSize, card },
      tensors,
    });
  },
});

/**
 * The fewest stories that give every split one: splitStories holds out round(n · share) stories
 * (at least 1, at most n − 1), and validation and test need one each of those.
 */
function storiesNeeded(heldOut: number): number {
  const enough = (n: number) => n >= 3 && Math.round(n * heldOut) >= 2;
  let n = Math.max(3, Math.ceil(1.5 / heldOut));
  while (!enough(n)) n++;
  return n;
}

/** The number of tokens a tokenizer file holds, for a corpus read without a checkpoint. */
function tokenizerVocab(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let [offset, count] = [4, 0];
  while (offset + 8 <= bytes.length) {
    const length = view.getInt32(offset + 4, true);
    if (length < 0) break; // a damaged file: readLlamaTokenizer says what is wrong with it
    offset += 8 + length;
    count++;
  }
  return count;
}

/** The shard inputs (shard-0, shard-1, …) in corpus order. */
function shardsInOrder(inputs: Record<string, Artifact | undefined>): Artifact<ShardMeta>[] {
  return Object.keys(inputs)
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    .map((k) => asShard(inputs[k], k));
}

function fileStories(
  path: string,
  source: FileStories,
  tokenizer: LlamaTokenizer,
): { stories: number[][]; unfinished: null } {
  const texts = readStoriesFile(path);
  // Read after parsing, so that what was parsed is what the plan hashed unless this refuses.
  const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (actual !== source.file)
    throw new PipelineError(
      `${path} changed while the build ran (SHA-256 ${actual.slice(0, 12)}…, ` +
        `planned ${source.file.slice(0, 12)}…)`,
      { exitCode: 2, hint: 'run the build again' },
    );
  const kept = source.limit === null ? texts : texts.slice(0, source.limit);
  return { stories: kept.map((text) => tokenizer.encode(text)), unfinished: null };
}

function corpusCard(
  splits: Record<CorpusSplit, number[][]>,
  streams: Record<CorpusSplit, { stream: Int32Array }>,
  tokenizer: LlamaTokenizer,
  description: string,
  params: StoriesParams,
  unfinished: number | null,
): CorpusCard {
  const counts = new Float64Array(tokenizer.vocabSize);
  for (const t of streams.train.stream) counts[t]!++;
  const sorted = Array.from(counts).sort((a, b) => b - a);
  const total = streams.train.stream.length;
  let unseen = 0;
  let heldOut = 0;
  for (const s of ['validation', 'test'] as const) {
    for (const t of streams[s].stream) {
      heldOut++;
      if (counts[t] === 0) unseen++;
    }
  }
  const tokens = Object.fromEntries(SPLITS.map((s) => [s, streams[s].stream.length])) as Record<
    CorpusSplit,
    number
  >;
  const storyCount = Object.fromEntries(SPLITS.map((s) => [s, splits[s].length])) as Record<
    CorpusSplit,
    number
  >;
  const allStories = SPLITS.reduce((n, s) => n + storyCount[s], 0);
  return {
    source: description,
    settings: asJson({
      source: params.source,
      split: { ...params.split },
      backend: params.backend,
    }),
    stories: storyCount,
    tokens,
    meanTokensPerStory: SPLITS.reduce((n, s) => n + tokens[s], 0) / allStories,
    unfinished,
    vocabulary: {
      size: tokenizer.vocabSize,
      seenInTrain: sorted.filter((c) => c > 0).length,
      coverage: COVERAGE_AT.filter((top) => top <= tokenizer.vocabSize).map((top) => ({
        top,
        share: sorted.slice(0, top).reduce((a, b) => a + b, 0) / total,
      })),
      heldOutUnseen: heldOut === 0 ? 0 : unseen / heldOut,
    },
    samples: splits.validation.slice(0, params.samples).map((story) => tokenizer.decode(story)),
  };
}

/** The training backend in use (train/backend.ts's BackendInfo): sampling rounds as it does. */
export interface SamplingBackend {
  name: string;
  detail: string;
  tfjsVersion: string;
}

export interface StoriesRequest {
  tokenizer: ByteRange;
  /** Sample from this checkpoint … */
  checkpoint?: {
    range: ByteRange;
    stories: number;
    batch: number;
    shardBatches: number;
    sampling: SampleSettings;
  };
  /** … or read this TinyStories-format file. */
  file?: { path: string; limit: number | null };
  split: CorpusSettings;
  /** Validation stories shown on the card. */
  samples: number;
  /** Where the files came from, in words. */
  description: string;
  backend: SamplingBackend;
}

/** The stories job (sampled or read, as the request says). */
export function storiesJob(label: string, request: StoriesRequest): Job<CorpusMeta> {
  if (!(request.split.heldOut > 0 && request.split.heldOut < 1))
    throw new PipelineError(
      `corpus: the held-out share must lie strictly between 0 and 1, got ${request.split.heldOut}`,
      { exitCode: 2 },
    );
  const source: SampledStories | FileStories = request.file
    ? { kind: 'file', file: fileFingerprint(request.file.path), limit: request.file.limit }
    : {
        kind: 'sampled',
        checkpoint: rangeFingerprint(request.checkpoint!.range),
        stories: request.checkpoint!.stories,
        batch: request.checkpoint!.batch,
        shardBatches: request.checkpoint!.shardBatches,
        sampling: { ...request.checkpoint!.sampling },
      };
  const b = request.backend;
  const params: StoriesParams = {
    source,
    tokenizer: rangeFingerprint(request.tokenizer),
    split: { ...request.split },
    samples: request.samples,
    backend: source.kind === 'sampled' ? { name: b.name, detail: b.detail, tfjs: b.tfjsVersion } : null,
  };
  const locations: StoriesLocations = {
    tokenizer: { ...request.tokenizer },
    description: request.description,
    ...(request.file ? { file: request.file.path } : {}),
  };
  const shards = request.checkpoint
    ? shardJobs(label, { ...request.checkpoint, checkpoint: request.checkpoint.range, backend: b })
    : [];
  return corpusStories.create(
    label,
    Object.fromEntries(shards.map((job, i) => [`shard-${i}`, job])),
    params,
    { locations: asJson(locations) },
  );
}

export function asStories(a: Artifact | undefined, what = 'stories'): Artifact<CorpusMeta> {
  return artifactOf(a, corpusStories, what);
}

/** One split's stories (token ids, without their BOS) from a stories artifact. */
export function storiesOf(a: Artifact<CorpusMeta>, split: CorpusSplit): number[][] {
  const stream = requireTensor(a, `${split}.stream`, 'stories').data as Int32Array;
  const starts = requireTensor(a, `${split}.starts`, 'stories').data as Int32Array;
  return streamStories(stream, starts);
}

export type WindowsMeta = DataInfo & {
  vocabSize: number;
  context: number;
  windows: Record<CorpusSplit, number>;
  card: CorpusCard;
};

const corpusWindows = defineJob<WindowsMeta, { stories: CorpusMeta }, { context: number }>({
  name: 'corpus/windows',
  stage: 'data',
  module: import.meta.url,
  run: async (_ctx, inputs, { context }) => {
    const stories = asStories(inputs.stories);
    const tensors: Record<string, ReturnType<typeof tensor>> = {};
    const windows = {} as Record<CorpusSplit, number>;
    for (const split of SPLITS) {
      const stream = requireTensor(stories, `${split}.stream`, 'stories').data as Int32Array;
      const cut = cutWindows(stream, context);
      if (cut.n === 0)
        throw new PipelineError(
          `corpus: the ${split} split holds ${stream.length} tokens, fewer than one window of ${context} + 1`,
          { exitCode: 2, hint: 'use more stories or a shorter context' },
        );
      tensors[`${split}.tokens`] = tensor(cut.tokens, [cut.n, context + 1]);
      windows[split] = cut.n;
    }
    const { meta } = stories;
    return artifact({
      meta: {
        name: meta.name,
        source: meta.source,
        hash: meta.hash,
        vocabSize: meta.vocabSize,
        context,
        windows,
        card: meta.card,
      },
      tensors,
    });
  },
});

/** Windows of T + 1 tokens at stride T: window i is stream[iT … iT + T]; a short tail is dropped. */
export function cutWindows(stream: Int32Array, context: number): { tokens: Int32Array; n: number } {
  const n = Math.max(0, Math.floor((stream.length - 1) / context));
  const tokens = new Int32Array(n * (context + 1));
  for (let i = 0; i < n; i++)
    tokens.set(stream.subarray(i * context, i * context + context + 1), i * (context + 1));
  return { tokens, n };
}

/** Next-token windows of context T from a stories job. */
export function windowsJob(label: string, stories: Job<CorpusMeta>, context: number): Job<WindowsMeta> {
  if (!Number.isInteger(context) || context < 1)
    throw new PipelineError(`corpus: the context must be a whole number of tokens ≥ 1, got ${context}`, {
      exitCode: 2,
    });
  return corpusWindows.create(label, { stories }, { context });
}

export function asWindows(a: Artifact | undefined, what = 'windows'): Artifact<WindowsMeta> {
  return artifactOf(a, corpusWindows, what);
}
