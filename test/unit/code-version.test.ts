/**
 * Code versions come from import closures: a job's key changes exactly when a module it runs (or
 * imports) changes; type-only imports and unrelated modules do not count. Jobs are data: a worker
 * thread runs a job from its description alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { codeVersion, forgetCodeVersions, moduleClosure } from '../../pipeline/cache/code-version.ts';
import { WorkerPool } from '../../pipeline/cache/pool.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { PipelineError } from '../../pipeline/errors.ts';
import { crashingKind, refusingKind, sleepKind, squareKind } from '../helpers/fixture-jobs.ts';
import { continuationsJob } from '../../pipeline/analysis/continuations.ts';
import type { Job } from '../../pipeline/cache/job.ts';
import { llama } from '../../pipeline/models/llama.ts';
import { nextToken } from '../../pipeline/tasks/next-token.ts';
import type { ModelMeta } from '../../pipeline/train/job.ts';
import type { VocabularyWindowsMeta } from '../../pipeline/corpus/vocabulary.ts';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'closure-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the closure follows value imports and re-exports, skips type-only imports, and names packages', () => {
  const dir = tree({
    'a.ts':
      "import { b } from './b.ts';\nimport type { T } from './types.ts';\nimport {\n  x,\n  type Y,\n} from './multi.ts';\nimport * as tf from '@tensorflow/tfjs';\nimport { join } from 'node:path';\n",
    'b.ts':
      "export { c } from './c.ts';\nexport type { D } from './d.ts';\nconst m = await import('ml-matrix');\n",
    'c.ts': 'export const c = 1;\n',
    'd.ts': 'export type D = 1;\n',
    'types.ts': 'export type T = 1;\n',
    'multi.ts': 'export const x = 1; export type Y = 2;\n',
    'unrelated.ts': 'export const z = 1;\n',
  });
  const closure = moduleClosure([join(dir, 'a.ts')]);
  const names = closure.files.map((f) => f.split('/').pop());
  assert.deepEqual(names.sort(), ['a.ts', 'b.ts', 'c.ts', 'multi.ts']);
  assert.deepEqual(closure.packages, ['@tensorflow/tfjs', 'ml-matrix']);
});

test('editing a module in the closure changes the code version; editing one outside does not', () => {
  const dir = tree({
    'a.ts': "import { b } from './b.ts';\n",
    'b.ts': 'export const b = 1;\n',
    'other.ts': 'export const o = 1;\n',
  });
  const a = join(dir, 'a.ts');
  const before = codeVersion([a]);
  writeFileSync(join(dir, 'other.ts'), 'export const o = 2;\n');
  forgetCodeVersions();
  assert.equal(codeVersion([a]), before, 'a module outside the closure changed');
  writeFileSync(join(dir, 'b.ts'), 'export const b = 2;\n');
  assert.equal(codeVersion([a]), before, 'memoised within a process');
  forgetCodeVersions();
  assert.notEqual(codeVersion([a]), before, 'a module inside the closure changed');
});

test("each figure renderer is in its own figures' code version, and captions (report specs) are in none", () => {
  const figures = new URL('../../pipeline/figures/', import.meta.url).pathname;
  const spectra = moduleClosure([join(figures, 'job.ts'), join(figures, 'spectra.ts')]).files;
  assert.ok(spectra.includes('pipeline/figures/spectra.ts'));
  assert.ok(
    !spectra.some((f) => f.includes('eigen-gallery') || f.includes('training-curves')),
    `spectra reaches ${spectra.join(', ')}`,
  );
  assert.ok(
    !spectra.some((f) => f.startsWith('pipeline/reports/')),
    'a figure must not depend on the report specs',
  );
  const trainer = moduleClosure([new URL('../../pipeline/train/job.ts', import.meta.url).pathname]).files;
  assert.ok(trainer.includes('native/bilinear_native.c'), "training depends on the native addon's C source");
});

test('a worker thread runs a job from its description and stores it; the main thread reads the same result', async () => {
  const cache = new CacheStore(mkdtempSync(join(tmpdir(), 'pool-')));
  const pool = new WorkerPool(1, { cacheDir: cache.root });
  try {
    const log = memoryLog();
    const runner = new JobRunner({ cache, log, force: false, pool });
    const base = squareKind.create('base', {}, { x: 3 });
    const top = squareKind.create('top', { base }, { x: 4 });
    const result = await runner.get(top);
    assert.deepEqual(result.meta, { value: 25, thread: 'worker' });
    assert.equal(result.kind, 'test/square');
    assert.equal(cache.has('analysis', runner.key(base)), true);
    const again = await new JobRunner({ cache, log: memoryLog(), force: false }).get(top);
    assert.deepEqual(again.meta, result.meta, 'read back from the cache, not recomputed');
    // a PipelineError keeps its exit code and hint across the thread, and the job is named once
    await assert.rejects(
      runner.get(refusingKind.create('refuse', {}, null)),
      (error: unknown) =>
        error instanceof PipelineError &&
        error.exitCode === 3 &&
        error.hint === 'install them' &&
        error.message === 'analysis refuse failed: the data are missing',
    );
    assert.deepEqual(
      log.lines.filter((l) => l.startsWith('[failed]')),
      ['[failed] analysis refuse the data are missing'],
    );
    // and any other error reads the same with a worker as without one
    const crash = crashingKind.create('crash', {}, null);
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => assert.fail('the job did not fail'),
        (error: unknown) => error as PipelineError,
      );
    const viaWorker = await failure(runner.get(crash));
    const onThread = await failure(new JobRunner({ cache, log: memoryLog(), force: false }).get(crash));
    assert.equal(viaWorker.message, 'analysis crash failed: the job broke');
    assert.equal(onThread.message, viaWorker.message);
    assert.equal(onThread.exitCode, viaWorker.exitCode);
  } finally {
    await pool.close();
  }
});

test("a worker's job reports its own run time, and how long it waited for the worker apart", async () => {
  const cache = new CacheStore(mkdtempSync(join(tmpdir(), 'pool-')));
  const pool = new WorkerPool(1, { cacheDir: cache.root });
  try {
    const log = memoryLog();
    const runner = new JobRunner({ cache, log, force: false, pool });
    // one worker, two jobs of 300 ms: the second waits for the first
    const jobs = ['a', 'b'].map((id) => sleepKind.create(id, {}, { ms: 300, id }));
    await Promise.all(jobs.map((j) => runner.get(j)));
    const built = log.lines.filter((l) => l.startsWith('[built]'));
    assert.equal(built.length, 2);
    const waits: number[] = [];
    for (const [i, job] of jobs.entries()) {
      const line = built.find((l) => l.includes(` ${job.label} `))!;
      const m = /([\d.]+) s \(worker; waited ([\d.]+) s for it\)$/.exec(line);
      assert.ok(m, `worker line: ${line}`);
      // the printed run time is the one the worker measured and the cache recorded
      assert.equal(m[1], cache.seconds('analysis', runner.key(jobs[i]!))!.toFixed(1));
      waits.push(Number(m[2]));
    }
    // the job that queued waited at least its predecessor's 300 ms; its run time does not include it
    assert.ok(Math.max(...waits) >= 0.25, `waits ${waits.join(', ')}`);
  } finally {
    await pool.close();
  }
});

test('job parameters must be plain JSON, checked when the job is made', () => {
  assert.throws(
    () => squareKind.create('bad', {}, { x: Number.NaN }),
    /test\/square bad: parameters must be plain JSON: cannot hash non-finite number at \$\.x/,
  );
});

test("continuations are sampled by a job whose code version covers the models' sampler", () => {
  const model = {
    kind: 'train/model',
    stage: 'train',
    label: 'a language model',
    params: {},
    deps: {},
    modules: [llama.module, nextToken.module],
    heavy: true,
  } as Job<ModelMeta>;
  const windows = {
    ...model,
    kind: 'corpus/vocabulary-windows',
    stage: 'corpus',
    modules: [],
  } as Job<unknown> as Job<VocabularyWindowsMeta>;
  const job = continuationsJob(
    'language/continuations',
    { windows, model },
    {
      models: [{ key: 'model', label: 'bilinear' }],
      prompts: [],
      maxTokens: 4,
      temperature: 1,
      topP: 0.9,
      seed: 1,
    },
  );
  const { files } = moduleClosure(job.modules);
  for (const file of ['pipeline/models/llama.ts', 'pipeline/models/llama-generate.ts'])
    assert.ok(files.includes(file), `${file} is in the continuations' code version`);
});
