/**
 * The cache and the job runner: keys from config and upstream keys, cached jobs that load
 * nothing upstream, atomic entries, verified reads (every kind of damage found, removed and
 * rebuilt), concurrent writers of one key, and staging folders swept only when their build is gone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  existsSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifact } from '../../pipeline/cache/artifact.ts';
import { defineJob, type Job } from '../../pipeline/cache/job.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore, DamagedEntryError } from '../../pipeline/cache/store.ts';
import { makeStagingDirectory } from '../../pipeline/util/fs.ts';
import { lockDirectory } from '../../pipeline/util/lock.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';
import { canonicalJson, hashJson } from '../../pipeline/util/hash.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { PipelineError } from '../../pipeline/errors.ts';

/** entry.json as the fault-injection cases edit it. */
type EntryJson = { kind: string; files: Record<string, unknown> };

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
  const job = (label: string, config: { n?: number }, deps: Record<string, Job<Value>> = {}): Job<Value> =>
    counterKind.create(label, deps, { label, ...config });
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
  assert.deepEqual(
    runner.stats,
    { built: 0, cached: 1, repaired: 0 },
    'a cached job must not load its upstream',
  );
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
  assert.deepEqual(
    status.map((s) => [s.job.label, s.cached]),
    [
      ['a', true],
      ['b', false],
    ],
  );
  assert.deepEqual(runs, []);
});

test('staging folders of builds that are gone are swept; those of a running build, and complete entries, kept', async () => {
  const cache = tempCache();
  const { job } = counter();
  const a = job('a', {});
  const runner = new JobRunner({ cache, log: memoryLog(), force: false });
  await runner.get(a);
  const gone = await exitedPid();
  mkdirSync(join(cache.root, `.staging-data-deadbeef-${gone}-0123456789ab`), { recursive: true }); // a killed build's
  const foreign = join(cache.root, '.old-settings'); // a name this code does not make: never touched
  mkdirSync(foreign, { recursive: true });
  mkdirSync(join(cache.root, 'data', `.old-${gone}-0123456789ab`), { recursive: true });
  const mine = makeStagingDirectory(cache.root, 'data-in-progress'); // this process is running
  assert.equal(cache.sweepStaging(), 2);
  assert.ok(existsSync(foreign), 'a folder the pipeline did not make was removed');
  rmSync(foreign, { recursive: true });
  assert.equal(cache.has('data', runner.key(a)), true);
  assert.ok(existsSync(mine), "a running build's staging folder is left alone");
  assert.deepEqual(readdirSync(join(cache.root, 'data')), [runner.key(a)]);
});

/** The pid of a process that has exited (so no process has it, for now). */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** Each kind of damage to a stored entry, and the reason the read gives for it. */
const DAMAGE: [string, (dir: string) => void, RegExp][] = [
  [
    'flipped bytes in the tensors',
    (dir) => flip(join(dir, 'tensors.safetensors'), 16),
    /tensors\.safetensors: contents differ from the SHA-256/,
  ],
  [
    'a deleted tensors file',
    (dir) => rmSync(join(dir, 'tensors.safetensors')),
    /tensors\.safetensors: missing/,
  ],
  [
    'a half-truncated tensors file',
    (dir) => truncateSync(join(dir, 'tensors.safetensors'), 40),
    /tensors\.safetensors: 40 bytes, entry\.json records \d+/,
  ],
  [
    'an edited value in meta.json',
    (dir) =>
      writeFileSync(
        join(dir, 'meta.json'),
        readFileSync(join(dir, 'meta.json'), 'utf8').replace('"value": 2', '"value": 3'),
      ),
    /meta\.json: contents differ/,
  ],
  [
    'invalid meta.json',
    (dir) => writeFileSync(join(dir, 'meta.json'), '{"val'),
    /meta\.json: \d+ bytes, entry\.json records/,
  ],
  ['a deleted file', (dir) => rmSync(join(dir, 'files', 'out.txt')), /files\/out\.txt: missing/],
  [
    'a 0-byte file',
    (dir) => writeFileSync(join(dir, 'files', 'out.txt'), ''),
    /files\/out\.txt: 0 bytes, entry\.json records 1/,
  ],
  [
    'invalid entry.json',
    (dir) => writeFileSync(join(dir, 'entry.json'), '{"stage": "da'),
    /entry\.json: not valid JSON/,
  ],
  [
    'entry.json without its file list',
    (dir) => writeFileSync(join(dir, 'entry.json'), '{"stage": "data"}'),
    /entry\.json: has no file list/,
  ],
  [
    'entry.json with a file record emptied',
    (dir) => {
      const info = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as EntryJson;
      info.files['meta.json'] = null;
      writeFileSync(join(dir, 'entry.json'), JSON.stringify(info));
    },
    /entry\.json: records no size and SHA-256 for meta\.json/,
  ],
  [
    'entry.json naming another job kind',
    (dir) => {
      const info = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as EntryJson;
      info.kind = 'test/failing';
      writeFileSync(join(dir, 'entry.json'), JSON.stringify(info));
    },
    /entry\.json: names the job kind 'test\/failing', not 'test\/counter'/,
  ],
  [
    'entry.json naming a file outside the entry',
    (dir) => {
      const info = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as EntryJson;
      info.files['../../elsewhere'] = { bytes: 1, sha256: '0'.repeat(64) };
      writeFileSync(join(dir, 'entry.json'), JSON.stringify(info));
    },
    /entry\.json: lists '\.\.\/\.\.\/elsewhere', which is no file of an entry/,
  ],
];

function flip(path: string, count: number): void {
  const bytes = readFileSync(path);
  for (let i = 0; i < count; i++) bytes[bytes.length - 1 - i]! ^= 0xff;
  writeFileSync(path, bytes);
}

for (const [what, damage, reason] of DAMAGE) {
  test(`damage to a cache entry (${what}) is found on reading, said in one line, removed and rebuilt to the same artifact`, async () => {
    const cache = tempCache();
    const { runs, job } = counter();
    const a = job('a', {});
    const b = job('b', {}, { a });
    const clean = await new JobRunner({ cache, log: memoryLog(), force: false }).get(b);
    const key = new JobRunner({ cache, log: memoryLog(), force: false }).key(b);
    damage(join(cache.root, 'data', key));
    assert.throws(
      () => cache.read('data', key, 'test/counter'),
      (error: unknown) => error instanceof DamagedEntryError && reason.test(error.message),
    );
    runs.length = 0;
    const log = memoryLog();
    const runner = new JobRunner({ cache, log, force: false });
    const rebuilt = await runner.get(b);
    assert.deepEqual(runs, ['b'], 'only the damaged job reruns (its input is read from the cache)');
    assert.deepEqual(runner.stats, { built: 1, cached: 1, repaired: 1 });
    const said = log.lines.filter((l) => l.startsWith('[damaged]'));
    assert.equal(said.length, 1, log.lines.join('\n'));
    assert.match(said[0]!, new RegExp(`data b .*${key}/.*; removed, rebuilding`));
    assert.deepEqual(rebuilt.meta, clean.meta);
    assert.deepEqual(Buffer.from(rebuilt.files['out.txt']!), Buffer.from(clean.files['out.txt']!));
    assert.deepEqual(cache.read('data', key).meta, clean.meta, 'the rebuilt entry verifies');
  });
}

test('two writers of one key: the first complete entry stays, the second is dropped, no staging is left', async () => {
  const cache = tempCache();
  const info = {
    stage: 'data',
    kind: 'test/counter',
    label: 'x',
    key: 'k'.repeat(64),
    seconds: 0,
    inputs: null,
  };
  cache.write(info, artifact({ meta: { value: 1 } }));
  cache.write(info, artifact({ meta: { value: 1 } }));
  assert.deepEqual(cache.read('data', info.key).meta, { value: 1 });
  assert.deepEqual(readdirSync(cache.root), ['data']);
  assert.deepEqual(readdirSync(join(cache.root, 'data')), [info.key]);
  // a damaged entry in the way is replaced by the new one
  writeFileSync(join(cache.root, 'data', info.key, 'meta.json'), '{}');
  cache.write(info, artifact({ meta: { value: 1 } }));
  assert.deepEqual(cache.read('data', info.key).meta, { value: 1 });
  assert.deepEqual(readdirSync(join(cache.root, 'data')), [info.key]);
});

test('the output lock: a second holder waits until the first releases; a lock whose owner is gone is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const order: string[] = [];
  const first = await lockDirectory(dir, () => order.push('never'));
  let waitedFor = '';
  const second = lockDirectory(dir, (owner) => (waitedFor = owner)).then((lock) => {
    order.push('second');
    return lock;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  order.push('first releases');
  first.release();
  (await second).release();
  assert.deepEqual(order, ['first releases', 'second']);
  assert.match(waitedFor, new RegExp(`^pid ${process.pid} on `));
  const gone = await exitedPid();
  writeFileSync(
    join(dir, '.build.lock'),
    `${JSON.stringify({ pid: gone, host: (await import('node:os')).hostname(), token: 'x', started: 'then' })}\n`,
  );
  const taken = await lockDirectory(dir, () => assert.fail('a stale lock is not waited for'));
  assert.equal(
    (JSON.parse(readFileSync(join(dir, '.build.lock'), 'utf8')) as { pid: number }).pid,
    process.pid,
  );
  taken.release();
  assert.deepEqual(readdirSync(dir), []);
  // an empty lock file (not written by this code, or cut off) is taken over once it is old
  writeFileSync(join(dir, '.build.lock'), '');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, '.build.lock'), past, past);
  (await lockDirectory(dir, () => assert.fail('an old unreadable lock is not waited for'))).release();
  assert.deepEqual(readdirSync(dir), []);
});

test('a full disk while storing an entry: one line naming the cache folder, nothing left behind', async () => {
  const cache = tempCache();
  const { job } = counter();
  const real = fs.writeFileSync;
  fs.writeFileSync = (path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (String(path).endsWith('tensors.safetensors'))
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        syscall: 'write',
      });
    return (real as (...args: unknown[]) => void)(path, ...rest);
  };
  syncBuiltinESMExports();
  try {
    await assert.rejects(
      new JobRunner({ cache, log: memoryLog(), force: false }).get(job('a', {})),
      (error: unknown) =>
        error instanceof PipelineError &&
        error.message === `cannot store data a in the cache ${cache.root}: no space left on the device` &&
        /--cache/.test(error.hint ?? ''),
    );
  } finally {
    fs.writeFileSync = real;
    syncBuiltinESMExports();
  }
  assert.deepEqual(readdirSync(cache.root), [], 'a staging folder was left');
});
