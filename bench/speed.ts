/**
 * npm run bench: training and eigendecomposition speed, every available path side by side in
 * one run, with the BLAS configuration it ran with. Numbers, not pass/fail: speed goals live here,
 * never in tests.
 *
 * 1) Training step of the reference model 784 → 512 (W, V) → 10, batch 128, AdamW (no
 *    embedding), ms per step (median of timed steps after warm-up) and the GFLOP/s that makes;
 * 2) symmetric eigendecomposition at n = 128, 256, 512, 784: ml-matrix against LAPACK dsyevd.
 */
import * as tf from '@tensorflow/tfjs';
import { symmetricEigen, type EigenSolver } from '../pipeline/decompose/eigen.ts';
import { imageSet } from '../pipeline/data/dataset.ts';
import { bilinearClassifier, type BilinearShape } from '../pipeline/models/bilinear-classifier.ts';
import { describeBlas, loadNative, nativeUnavailableReason } from '../pipeline/native/addon.ts';
import { classification, classificationBatch } from '../pipeline/tasks/classification.ts';
import { BACKENDS, selectBackend, type BackendName } from '../pipeline/train/backend.ts';
import { disposeTrainee, makeTrainee, trainStep } from '../pipeline/train/trainer.ts';
import { Rng } from '../pipeline/util/random.ts';

const SHAPE: BilinearShape = { input: 784, embed: null, hidden: 512, classes: 10 };
/** The ablation study's model size. */
const SMALL: BilinearShape = { input: 784, embed: 100, hidden: 100, classes: 10 };
const BATCH = 128;
// Multiply-adds of the three matrix products, forward (×2 FLOPs) and backward (≈ 2× forward).
const FLOPS_PER_STEP = 3 * 2 * BATCH * (2 * 784 * 512 + 512 * 10);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeTraining(path: BackendName, shape: BilinearShape = SHAPE): Promise<number | string> {
  try {
    await selectBackend(path);
  } catch (error) {
    return (error as Error).message.replace(/^no training backend could start \((.*)\)$/, '$1');
  }
  const rng = new Rng(1);
  const data = imageSet(
    Float32Array.from({ length: BATCH * 784 }, () => rng.uniform()),
    Uint8Array.from({ length: BATCH }, (_, i) => i % 10),
    784,
  );
  const trainee = makeTrainee(
    bilinearClassifier,
    shape,
    classification,
    bilinearClassifier.init(shape, new Rng(1)),
    0.5,
  );
  const indices = Array.from({ length: BATCH }, (_, i) => i);
  const times: number[] = [];
  const steps = path === 'cpu' ? 6 : 25;
  for (let i = 0; i < steps + 3; i++) {
    const started = performance.now();
    trainStep(
      trainee,
      classificationBatch(data, indices, 10),
      { latent: 0, input: 0, dropout: 0, seed: i },
      { lr: 1e-3 },
      0,
    );
    if (i >= 3) times.push(performance.now() - started); // the first steps compile and allocate
  }
  disposeTrainee(trainee);
  return median(times);
}

function timeEigen(n: number, solver: EigenSolver): number {
  const rng = new Rng(n);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) q[i * n + j] = q[j * n + i] = rng.normal();
  const reps = solver === 'ml-matrix' && n >= 512 ? 2 : 4;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    symmetricEigen(q, n, solver);
    times.push(performance.now() - started);
  }
  return median(times);
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number, digits = 1) => x.toFixed(digits).padStart(9);

async function main() {
  const native = loadNative();
  console.log('BLAS configuration');
  console.log(
    `  addon:              ${native ? describeBlas(native.info()) : `not available (${nativeUnavailableReason()})`}`,
  );
  if (native) console.log(`  openblas_get_config: ${native.info().config}`);
  console.log(
    `  OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? '(unset)'}  OPENBLAS_NUM_THREADS=${process.env['OPENBLAS_NUM_THREADS'] ?? '(unset)'}`,
  );
  console.log(
    `  TensorFlow.js ${tf.version.tfjs}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`,
  );

  console.log(
    `Training step: 784 → ${SHAPE.hidden} (W, V) → 10, batch ${BATCH}, AdamW (median ms; ${(FLOPS_PER_STEP / 1e9).toFixed(2)} GFLOP per step)`,
  );
  console.log(
    `  ${pad('path', 12)}${'ms/step'.padStart(9)}${'GFLOP/s'.padStart(9)}${'speed-up'.padStart(10)}`,
  );
  const results: [BackendName, number | string][] = [];
  for (const path of [...BACKENDS].reverse()) results.push([path, await timeTraining(path)]);
  const baseline = results.find(([p]) => p === 'wasm')?.[1];
  for (const [path, ms] of results) {
    if (typeof ms === 'string') console.log(`  ${pad(path, 12)}unavailable: ${ms}`);
    else
      console.log(
        `  ${pad(path, 12)}${num(ms)}${num(FLOPS_PER_STEP / ms / 1e6)}${typeof baseline === 'number' ? `${(baseline / ms).toFixed(1)}×`.padStart(10) : ''}`,
      );
  }

  if (native) {
    // One process, nothing else running: what a single job gains from more BLAS threads. (In the
    // pipeline's pool, jobs already fill the cores; see README "Parallel jobs".)
    console.log('\nNative path, OpenBLAS threads (median ms/step, one process)');
    console.log(`  ${pad('model', 30)}${'1 thread'.padStart(10)}${'2 threads'.padStart(11)}`);
    for (const [name, shape] of [
      ['784 → 512 (W, V) → 10', SHAPE],
      ['784 → 100 → 100 → 10', SMALL],
    ] as const) {
      const times: string[] = [];
      for (const threads of [1, 2]) {
        native.setThreads(threads);
        const ms = await timeTraining('native', shape);
        times.push(typeof ms === 'number' ? num(ms) : ms);
      }
      native.setThreads(1);
      console.log(`  ${pad(name, 30)}${times[0]!.padStart(10)}${times[1]!.padStart(11)}`);
    }
  }

  // Input noise for one batch of images (128 × 784 draws), three ways, on the active path.
  await selectBackend('auto');
  const draws = BATCH * 784;
  const timeNoise = (f: () => unknown) =>
    median(
      Array.from({ length: 30 }, () => {
        const t = performance.now();
        f();
        return performance.now() - t;
      }),
    );
  console.log(`\nGaussian noise, ${draws} draws (median ms)`);
  console.log(
    `  ${pad('TensorFlow.js randomNormal', 34)}${num(
      timeNoise(() => tf.tidy(() => tf.randomNormal([BATCH, 784], 0, 0.3, 'float32', 1).dataSync())),
      2,
    )}`,
  );
  console.log(
    `  ${pad('Rng.normalArray (JavaScript)', 34)}${num(
      timeNoise(() => new Rng(1).normalArray(draws, 0.3)),
      2,
    )}`,
  );
  if (native)
    console.log(
      `  ${pad('native normals (C, the same stream)', 34)}${num(
        timeNoise(() => native.normals(new Float32Array(draws), 1, 0.3)),
        2,
      )}`,
    );

  console.log('\nSymmetric eigendecomposition, values and vectors, canonical order and signs (median ms)');
  console.log(
    `  ${pad('n', 6)}${'ml-matrix'.padStart(11)}${'LAPACK'.padStart(11)}${'speed-up'.padStart(10)}`,
  );
  for (const n of [128, 256, 512, 784]) {
    const slow = timeEigen(n, 'ml-matrix');
    const fast = native ? timeEigen(n, 'lapack') : Number.NaN;
    console.log(
      `  ${pad(String(n), 6)}${num(slow).padStart(11)}${native ? num(fast).padStart(11) : '        n/a'}${native ? `${(slow / fast).toFixed(1)}×`.padStart(10) : ''}`,
    );
  }
}

await main();
