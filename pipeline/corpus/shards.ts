/**
 * A sampled corpus as shards: each shard is its own cached job of `batches` batches sampled from
 * the checkpoint, so the worker threads sample shards at once and a larger corpus samples only
 * its new shards.
 *
 * Batch b of the corpus (counting across shards) is sampled with seed `sampling.seed + b · 104,729`
 * whatever the shard size, so a corpus cut into more or fewer shards of the same batch size holds
 * the same stories in the same order, and a corpus of more shards begins with the stories of one
 * of fewer.
 */
import { asJson, artifact, requireTensor, type Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { readLlamaCheckpoint } from '../data/llama-checkpoint.ts';
import { rangeFingerprint, verifiedBytes, type ByteRange } from '../data/llama-files.ts';
import { PipelineError } from '../errors.ts';
import { BOS, generate, type SampleSettings } from '../models/llama-generate.ts';
import { llamaFromCheckpoint, llamaParams } from '../models/llama.ts';
import { tensor } from '../tensors/safetensors.ts';
import * as tf from '@tensorflow/tfjs';

/** Seeds of consecutive batches are this far apart. */
const BATCH_SEED_STRIDE = 104_729;

export interface ShardMeta {
  /** Stories kept: sequences that ended (sampled BOS) before the token limit. */
  stories: number;
  /** Sequences that reached the token limit still going, dropped. */
  unfinished: number;
  /** The checkpoint's vocabulary size (the ids the stories are in). */
  vocab: number;
}

type ShardParams = {
  checkpoint: string;
  /** The first batch's index in the corpus (its seed follows from it). */
  firstBatch: number;
  batches: number;
  batch: number;
  sampling: SampleSettings;
  /** Sampling rounds differently per backend, so the key holds the backend. */
  backend: { name: string; detail: string; tfjs: string };
};

const storyShard = defineJob<ShardMeta, Record<string, never>, ShardParams>({
  name: 'corpus/shard',
  // Not 'data': the stories job that joins the shards is the data set a report names.
  stage: 'sample',
  module: import.meta.url,
  heavy: true,
  run: async (ctx, _inputs, params) => {
    const at = ctx.locations as unknown as { checkpoint: ByteRange };
    const checkpoint = readLlamaCheckpoint(
      verifiedBytes(at.checkpoint, params.checkpoint),
      at.checkpoint.name,
    );
    const { shape, weights } = llamaFromCheckpoint(checkpoint);
    const model = llamaParams(shape, weights);
    const stories: number[][] = [];
    let unfinished = 0;
    const progress = ctx.log.progress('sampling stories', params.batches);
    try {
      for (let b = 0; b < params.batches; b++) {
        const seed = params.sampling.seed + (params.firstBatch + b) * BATCH_SEED_STRIDE;
        const out = generate(
          shape,
          model,
          Array.from({ length: params.batch }, () => [BOS]),
          { ...params.sampling, seed },
        );
        out.tokens.forEach((tokens, i) =>
          out.finished[i] && tokens.length > 0 ? stories.push(tokens) : unfinished++,
        );
        progress.update(b + 1, `${stories.length} stories`);
      }
    } finally {
      progress.end();
      tf.dispose(Object.values(model));
    }
    const { stream, starts } = storyStream(stories);
    return artifact({
      meta: { stories: stories.length, unfinished, vocab: checkpoint.config.vocab },
      tensors: { stream: tensor(stream, [stream.length]), starts: tensor(starts, [starts.length]) },
    });
  },
});

export interface ShardsRequest {
  checkpoint: ByteRange;
  /** Stories sampled in all (a whole number of batches per shard). */
  stories: number;
  /** Sequences generated at once. */
  batch: number;
  /** Batches per shard. */
  shardBatches: number;
  sampling: SampleSettings;
  backend: { name: string; detail: string; tfjsVersion: string };
}

/** The shards of a sampled corpus, in order; refuses sizes that do not cut into whole batches. */
export function shardJobs(label: string, request: ShardsRequest): Job<ShardMeta>[] {
  const { stories, batch, shardBatches } = request;
  for (const [name, value] of [
    ['stories', stories],
    ['batch', batch],
    ['shardBatches', shardBatches],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new PipelineError(`corpus: ${name} must be a whole number ≥ 1, got ${value}`, { exitCode: 2 });
  }
  const perShard = batch * shardBatches;
  if (stories % perShard !== 0)
    throw new PipelineError(
      `corpus: ${stories} stories do not cut into shards of ${shardBatches} ` +
        `batches of ${batch} (${perShard} stories each)`,
      { exitCode: 2, hint: `use a multiple of ${perShard} stories` },
    );
  const checkpoint = rangeFingerprint(request.checkpoint);
  const b = request.backend;
  const backend = { name: b.name, detail: b.detail, tfjs: b.tfjsVersion };
  return Array.from({ length: stories / perShard }, (_, i) =>
    storyShard.create(
      `${label}/shard-${i}`,
      {},
      {
        checkpoint,
        firstBatch: i * shardBatches,
        batches: shardBatches,
        batch,
        sampling: { ...request.sampling },
        backend,
      },
      { locations: asJson({ checkpoint: { ...request.checkpoint } }) },
    ),
  );
}

export function asShard(a: Artifact | undefined, what = 'story shard'): Artifact<ShardMeta> {
  return artifactOf(a, storyShard, what);
}

/** A shard's stories (token ids, without BOS), in sampling order. */
export function shardStories(a: Artifact<ShardMeta>): number[][] {
  return streamStories(
    requireTensor(a, 'stream', 'story shard').data as Int32Array,
    requireTensor(a, 'starts', 'story shard').data as Int32Array,
  );
}

/** The stories of a stream made by storyStream (each without its BOS). */
export function streamStories(stream: Int32Array, starts: Int32Array): number[][] {
  return Array.from(starts, (start, i) =>
    Array.from(stream.subarray(start + 1, i + 1 < starts.length ? starts[i + 1]! : stream.length)),
  );
}

/** Stories as one stream, BOS before each, and where each story's BOS is. */
export function storyStream(stories: number[][]): { stream: Int32Array; starts: Int32Array } {
  const stream = new Int32Array(stories.reduce((n, s) => n + s.length + 1, 0));
  const starts = new Int32Array(stories.length);
  let at = 0;
  stories.forEach((story, i) => {
    starts[i] = at;
    stream[at++] = BOS;
    stream.set(story, at);
    at += story.length;
  });
  return { stream, starts };
}
