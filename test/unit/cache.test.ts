/**
 * The cache and the job runner: keys from config and upstream keys, cached jobs that load
 * nothing upstream, atomic entries, and staging folders swept after an interruption.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifact } from '../../pipeline/cache/artifact.ts';
import { defineJob, type Job } from '../../pipeline/cache/job.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';
import { canonicalJson, hashJson } from '../../pipeline/util/hash.ts';
import { memoryLog } from '../../pipeline/util/log.ts';

type Value = { value: number };
const runs: string[] = [];

/** A job kind that records that it ran and adds 1 to the sum of its inputs' values. */
const counterKind = defineJob<Value, Record<string, Value>, { label: string; n?: number }>({
  name: 'test/counter',
  stage: 'data',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => {
    runs.push(params.label);
    const upstream = Object.values(inputs).map((a) => a.meta.value);
    return artifact({
      meta: { value: upstream.reduce((s, x) => s + x, 1) },
      tensors: { x: tensor(Float32Array.from([1, 2]), [2]) },
      files: { 'out.txt': Buffer.from(params.label) },
    });
  },
});

const failing = defineJob<Value, Record<string, never>, null>({
  name: 'test/failing',
  stage: 'data',
  module: import.meta.url,
  run: async () => {
    throw new Error('kaput');
  },
});

function counter() {
  runs.length = 0;
  const job = (label: string, config: { n?: number }, deps: Record<string, Job<Value>> = {}): Job<Value> => counterKind.create(label, deps, { label, ...config });
  return { runs, job };
}

const tempCache = () => new CacheStore(mkdtempSync(join(tmpdir(), 'cache-test-')));

test('canonical JSON ignores key order and refuses non-finite numbers', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3] } }), '{"a":{"c":[3],"d":2},"b":1}');
  assert.equal(hashJson({ a: 1, b: 2 }), hashJson({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson({ a: Number.NaN }), /non-finite number at \$\.a/);
});

test('a second run answers from the cache, round-tripping meta, tensors and files', async () => {
  const cache = tempCache();
  const { runs, job } = counter();
  const a = job('a', { n: 1 });
  const b = job('b', { n: 2 }, { a });
  const first = await new JobRunner({ cache, log: memoryLog(), force: false }).get(b);
  assert.deepEqual(runs, ['a', 'b']);
  const runner = new JobRunner({ cache, log: memoryLog(), force: false });
  const second = await runner.get(b);
  assert.deepEqual(runs, ['a', 'b'], 'nothing should run again');
  assert.deepEqual(runner.stats, { built: 0, cached: 1 }, 'a cached job must not load its upstream');
  assert.deepEqual(second.meta, first.meta);
  assert.deepEqual(Array.from(second.tensors['x']!.data), [1, 2]);
  assert.equal(Buffer.from(second.files['out.txt']!).toString(), 'b');
});

test('changing a config rebuilds that job and everything downstream, nothing upstream', async () => {
  const cache = tempCache();
  const { runs, job } = counter();
  const log = memoryLog();
  await new JobRunner({ cache, log, force: false }).get(job('b', {}, { a: job('a', { n: 1 }) }));
  runs.length = 0;
  const c = job('c', {});
  await new JobRunner({ cache, log, force: false }).get(job('b', {}, { a: job('a', { n: 2 }), c }));
  assert.deepEqual(runs, ['a', 'c', 'b']);
  runs.length = 0;
  await new JobRunner({ cache, log, force: true }).get(job('a', { n: 2 }));
  assert.deepEqual(runs, ['a'], '--force rebuilds');
});

test('a failing job leaves no cache entry and no staging folder', async () => {
  const cache = tempCache();
  const boom = failing.create('boom', {}, null);
  const runner = new JobRunner({ cache, log: memoryLog(), force: false });
  await assert.rejects(runner.get(boom), /data boom failed: kaput/);
  assert.equal(cache.has('data', runner.key(boom)), false);
  assert.deepEqual(existsSync(cache.root) ? readdirSync(cache.root) : [], []);
});

test('status reports cached and missing jobs without running anything', async () => {
  const cache = tempCache();
  const { runs, job } = counter();
  const a = job('a', {});
  await new JobRunner({ cache, log: memoryLog(), force: false }).get(a);
  runs.length = 0;
  const b = job('b', {}, { a });
  const status = new JobRunner({ cache, log: memoryLog(), force: false }).status([b]);
  assert.deepEqual(status.map((s) => [s.job.label, s.cached]), [['a', true], ['b', false]]);
  assert.deepEqual(runs, []);
});

test('staging folders left by an interrupted write are swept, complete entries kept', async () => {
  const cache = tempCache();
  const { job } = counter();
  const a = job('a', {});
  const runner = new JobRunner({ cache, log: memoryLog(), force: false });
  await runner.get(a);
  mkdirSync(join(cache.root, '.staging-data-deadbeef-123456'), { recursive: true });
  assert.equal(cache.sweepStaging(), 1);
  assert.equal(cache.has('data', runner.key(a)), true);
  assert.deepEqual(readdirSync(cache.root), ['data']);
});
