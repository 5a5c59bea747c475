/**
 * A llama2.c checkpoint imported as a model artifact (train/pretrained.ts): the weights are the
 * checkpoint's, in the llama kind's layout, readable as a training job's starting point; the key
 * follows the file's bytes; a file that changes between plan and run is refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  readLlamaCheckpoint,
  writeLlamaCheckpoint,
  type LlamaConfig,
} from '../../pipeline/data/llama-checkpoint.ts';
import type { ByteRange } from '../../pipeline/data/llama-files.ts';
import { llama, llamaFromCheckpoint } from '../../pipeline/models/llama.ts';
import { modelWeights } from '../../pipeline/train/job.ts';
import { asPretrained, pretrainedJob } from '../../pipeline/train/pretrained.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { runJob } from '../helpers/run-job.ts';

const dir = mkdtempSync(join(tmpdir(), 'pretrained-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: LlamaConfig = {
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  vocab: 40,
  context: 16,
  tiedEmbeddings: false,
  mlp: 'gated',
};

/** A random checkpoint written to `name`; returns its range and bytes. */
function checkpointFile(name: string, seed: number): { range: ByteRange; bytes: Uint8Array } {
  const rng = new Rng(seed);
  const { dim, hidden, layers, heads, kvHeads, vocab } = CONFIG;
  const kv = (dim / heads) * kvHeads;
  const arrays = {
    tokenEmbedding: rng.normalArray(vocab * dim, 0.5),
    rmsAtt: rng.normalArray(layers * dim, 1),
    wq: rng.normalArray(layers * dim * dim, 0.3),
    wk: rng.normalArray(layers * kv * dim, 0.3),
    wv: rng.normalArray(layers * kv * dim, 0.3),
    wo: rng.normalArray(layers * dim * dim, 0.3),
    rmsFfn: rng.normalArray(layers * dim, 1),
    w1: rng.normalArray(layers * hidden * dim, 0.3),
    w2: rng.normalArray(layers * dim * hidden, 0.3),
    w3: rng.normalArray(layers * hidden * dim, 0.3),
    rmsFinal: rng.normalArray(dim, 1),
    wcls: rng.normalArray(vocab * dim, 0.3),
  };
  const bytes = writeLlamaCheckpoint({ config: CONFIG, arrays });
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { range: { path, start: 0, end: bytes.length, name }, bytes };
}

test("an imported checkpoint's weights are the checkpoint's, in the llama layout, as a run's start", async () => {
  const { range, bytes } = checkpointFile('model.bin', 1);
  const job = pretrainedJob('finetune/pretrained', range);
  const imported = asPretrained(await runJob(job));
  const expected = llamaFromCheckpoint(readLlamaCheckpoint(bytes, 'model.bin'));
  assert.deepEqual(imported.meta.model.shape, expected.shape);
  assert.equal(imported.meta.model.kind, 'llama');
  assert.equal(imported.meta.source.sha256, createHash('sha256').update(bytes).digest('hex'));
  // What a training job checks before it starts from these weights.
  const weights = modelWeights(
    imported,
    llama,
    imported.meta.model.shape,
    'the weights to finetune from, of',
  );
  assert.deepEqual(Object.keys(weights).sort(), Object.keys(expected.weights).sort());
  for (const [name, w] of Object.entries(expected.weights)) assert.deepEqual(weights[name], w, name);
});

test('the key follows the bytes, and a file changed after planning is refused', async () => {
  const first = checkpointFile('a.bin', 2);
  const same = checkpointFile('b.bin', 2);
  const other = checkpointFile('c.bin', 3);
  const key = (range: ByteRange) => pretrainedJob('x', range).params;
  assert.deepEqual(key(first.range), key(same.range), 'same bytes, same key');
  assert.notDeepEqual(key(first.range), key(other.range), 'other bytes, other key');
  const job = pretrainedJob('x', first.range);
  writeFileSync(first.range.path, other.bytes);
  await assert.rejects(runJob(job), /changed while the build ran/);
});
