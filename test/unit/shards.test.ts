/**
 * A sampled corpus in shards (corpus/shards.ts): the same stories however the batches are cut
 * into shards, a larger corpus reusing the shards of a smaller one, and the stories job reading
 * its shards in order. A tiny random checkpoint with the real tokenizer's 32,000 ids, built so
 * that BOS (which ends a story) is sampled often enough for short stories.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { asStories, SPLITS, storiesJob, storiesOf } from '../../pipeline/corpus/job.ts';
import { asShard, shardJobs, shardStories, type ShardsRequest } from '../../pipeline/corpus/shards.ts';
import { writeLlamaCheckpoint, type LlamaConfig } from '../../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, type ByteRange } from '../../pipeline/data/llama-files.ts';
import { PipelineError } from '../../pipeline/errors.ts';
import { selectBackend, type BackendInfo } from '../../pipeline/train/backend.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { runJob } from '../helpers/run-job.ts';

const dir = mkdtempSync(join(tmpdir(), 'shards-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const located = locateLlamaFiles();
const NEEDS_TOKENIZER =
  'missing' in located ? { skip: `the llama tokenizer is not installed: ${located.missing}` } : {};

/**
 * Every layer writes nothing (wo, w2 zero), so the logits depend on the current token's embedding
 * alone; each embedding's first coordinate is 1 and BOS's classifier row points along it, which
 * makes BOS likely enough (a few percent to tens of percent) that most 24-token sequences end.
 */
function checkpointFile(): ByteRange {
  const config: LlamaConfig = {
    dim: 8,
    hidden: 8,
    layers: 1,
    heads: 2,
    kvHeads: 2,
    vocab: 32000,
    context: 32,
    tiedEmbeddings: false,
    mlp: 'gated',
  };
  const rng = new Rng(3);
  const embedding = rng.normalArray(config.vocab * config.dim, 0.5);
  for (let t = 0; t < config.vocab; t++) embedding[t * config.dim] = 1;
  const wcls = rng.normalArray(config.vocab * config.dim, 0.05);
  wcls.fill(0, config.dim, 2 * config.dim);
  wcls[config.dim] = 5.5;
  const square = () => rng.normalArray(config.dim * config.dim, 0.3);
  const arrays = {
    tokenEmbedding: embedding,
    rmsAtt: new Float32Array(8).fill(1),
    wq: square(),
    wk: square(),
    wv: square(),
    wo: new Float32Array(64),
    rmsFfn: new Float32Array(8).fill(1),
    w1: square(),
    w2: new Float32Array(64),
    w3: square(),
    rmsFinal: new Float32Array(8).fill(1),
    wcls,
  };
  const bytes = writeLlamaCheckpoint({ config, arrays });
  const path = join(dir, 'model.bin');
  writeFileSync(path, bytes);
  return { path, start: 0, end: bytes.length, name: path };
}

let backend: BackendInfo;
let checkpoint: ByteRange;
before(async () => {
  backend = await selectBackend('auto');
  checkpoint = checkpointFile();
});

const request = (over: Partial<ShardsRequest> = {}): ShardsRequest => ({
  checkpoint,
  stories: 12,
  batch: 2,
  shardBatches: 2,
  sampling: { temperature: 1, topP: 0.9, maxTokens: 24, seed: 5 },
  backend: { name: backend.name, detail: backend.detail, tfjsVersion: backend.tfjsVersion },
  ...over,
});

async function sample(jobs: ReturnType<typeof shardJobs>): Promise<{
  shards: Artifact<ReturnType<typeof asShard>['meta']>[];
  stories: number[][];
  unfinished: number;
}> {
  const shards = [];
  for (const job of jobs) shards.push(asShard(await runJob(job)));
  return {
    shards,
    stories: shards.flatMap(shardStories),
    unfinished: shards.reduce((n, s) => n + s.meta.unfinished, 0),
  };
}

test('the same batches cut into 6, 3 or 1 shards give the same stories in the same order', async () => {
  const [six, three, one] = await Promise.all(
    [1, 2, 6].map((shardBatches) => sample(shardJobs('t', request({ shardBatches })))),
  );
  assert.equal(six!.shards.length, 6);
  assert.equal(three!.shards.length, 3);
  assert.equal(one!.shards.length, 1);
  assert.ok(one!.stories.length >= 3, `only ${one!.stories.length} of 12 sequences ended`);
  assert.ok(
    one!.stories.every((s) => s.length > 0 && !s.includes(1)),
    'a story is empty or holds BOS',
  );
  assert.deepEqual(three!.stories, one!.stories);
  assert.deepEqual(six!.stories, one!.stories);
  assert.equal(one!.stories.length + one!.unfinished, 12);
  assert.equal(three!.unfinished, one!.unfinished);
  // different batches are different samples
  assert.notDeepEqual(shardStories(three!.shards[0]!), shardStories(three!.shards[1]!));
});

test('a larger corpus keeps the shards of a smaller one (same keys) and adds only new ones', () => {
  const runner = new JobRunner({ cache: new CacheStore(join(dir, 'cache')), log: memoryLog(), force: false });
  const small = shardJobs('t', request()).map((j) => runner.key(j));
  const large = shardJobs('t', request({ stories: 20 })).map((j) => runner.key(j));
  assert.equal(large.length, 5);
  assert.deepEqual(large.slice(0, 3), small);
  assert.equal(new Set(large).size, 5);
  const reseeded = shardJobs('t', request({ sampling: { ...request().sampling, seed: 6 } })).map((j) =>
    runner.key(j),
  );
  assert.ok(
    reseeded.every((k) => !small.includes(k)),
    'another seed reuses a shard',
  );
});

test('sizes that do not cut into whole shards are refused, naming the fix', () => {
  assert.throws(
    () => shardJobs('t', request({ stories: 10 })),
    (e: unknown) =>
      e instanceof PipelineError &&
      /10 stories do not cut into shards of 2 batches of 2/.test(e.message) &&
      /multiple of 4/.test(e.hint ?? ''),
  );
  for (const over of [{ batch: 0 }, { shardBatches: 1.5 }, { stories: -4 }])
    assert.throws(() => shardJobs('t', request(over)), PipelineError, JSON.stringify(over));
});

test(
  'the stories job reads its shards in order: every sampled story in exactly one split, the dropped ones counted',
  NEEDS_TOKENIZER,
  async () => {
    if ('missing' in located) return;
    const stories = storiesJob('t/corpus', {
      tokenizer: located.tokenizer,
      checkpoint: { range: checkpoint, stories: 12, batch: 2, shardBatches: 2, sampling: request().sampling },
      split: { heldOut: 0.4, seed: 1 },
      samples: 1,
      description: 'random',
      backend,
    });
    const inputs: Record<string, Artifact> = {};
    const shards = shardJobs('t/corpus', request());
    for (const [i, job] of shards.entries()) inputs[`shard-${i}`] = await runJob(job);
    const sampled = await sample(shards);
    // the inputs handed over in reverse order: the job orders them by shard number
    const reversed = Object.fromEntries(Object.entries(inputs).reverse());
    const corpus = asStories(await runJob(stories, reversed));
    const all = SPLITS.flatMap((s) => storiesOf(corpus, s));
    assert.deepEqual(all.map((s) => s.join(',')).sort(), sampled.stories.map((s) => s.join(',')).sort());
    assert.equal(corpus.meta.card.unfinished, sampled.unfinished);
    const ordered = asStories(await runJob(stories, inputs));
    assert.deepEqual(ordered.meta.card, corpus.meta.card);
  },
);
