/**
 * The native addon and the kernels built on it, against the stock paths: the binding refuses bad
 * arguments with JavaScript errors; BatchMatMul and _FusedMatMul match the stock wasm kernels on
 * every transpose combination and batch broadcasting, gradients included, without leaking
 * tensors; 20 training steps match the stock path's losses; LAPACK's eigendecomposition matches
 * ml-matrix's after canonicalisation.
 *
 * These tests need the addon: CI installs OpenBLAS and LAPACKE, so a missing addon is a failure,
 * not a skip. Set BILINEAR_NO_NATIVE=1 to test a machine without it (they are skipped then).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { eigenvector, symmetricEigen } from '../../pipeline/decompose/eigen.ts';
import { imageSet } from '../../pipeline/data/dataset.ts';
import { blasThreads, loadNative, nativeUnavailableReason } from '../../pipeline/native/addon.ts';
import { matmul64, portableMatmul64 } from '../../pipeline/native/matmul64.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { trainClassifier } from '../helpers/train.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose, maxAbsDiff } from '../helpers/close.ts';

const skip = process.env['BILINEAR_NO_NATIVE'] === '1' ? 'BILINEAR_NO_NATIVE=1' : false;

function addon() {
  const native = loadNative();
  assert.ok(native, `native addon unavailable: ${nativeUnavailableReason()}`);
  return native;
}

test('the binding refuses bad arguments with errors, never a crash', { skip }, () => {
  const n = addon();
  const f = (k: number) => new Float32Array(k);
  assert.throws(() => n.sgemm(false, false, 2, 2, 2, 1, f(3), 2, f(4), 2, 0, f(4), 2), {
    name: 'RangeError',
    message: /A has 3 elements, too few for 2×2/,
  });
  assert.throws(() => n.sgemm(false, true, 2, 3, 4, 1, f(8), 4, f(11), 4, 0, f(6), 3), {
    name: 'RangeError',
    message: /B has 11 elements, too few for 3×4/,
  });
  assert.throws(() => n.sgemm(false, false, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, f(3), 2), {
    name: 'RangeError',
    message: /C has 3 elements/,
  });
  assert.throws(() => n.sgemm(false, false, 2, 2, 2, 1, f(4), 1, f(4), 2, 0, f(4), 2), {
    name: 'RangeError',
    message: /leading dimensions/,
  });
  assert.throws(() => n.sgemm(false, false, -1, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), {
    name: 'RangeError',
    message: /m must be a whole number/,
  });
  assert.throws(() => n.sgemm(false, false, 1.5, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), {
    name: 'RangeError',
    message: /m must be a whole number/,
  });
  assert.throws(
    () => n.sgemm(false, false, 2, 2, 2, 1, new Float64Array(4) as never, 2, f(4), 2, 0, f(4), 2),
    { name: 'TypeError', message: /A must be a Float32Array/ },
  );
  assert.throws(() => n.sgemm(false, false, 2, 2, 2, Number.NaN, f(4), 2, f(4), 2, 0, f(4), 2), {
    name: 'TypeError',
    message: /alpha must be a finite number/,
  });
  assert.throws(() => (n.sgemm as (...a: unknown[]) => void)(false, false, 2), {
    name: 'TypeError',
    message: /expected 13 arguments, got 3/,
  });
  assert.throws(() => n.syevd(new Float64Array(5), 2, new Float64Array(2)), {
    name: 'RangeError',
    message: /A has 5 elements, expected n×n = 4/,
  });
  assert.throws(() => n.syevd(new Float64Array(4), 2, new Float32Array(2) as never), {
    name: 'TypeError',
    message: /w \(of the same type as A\) must be a Float64Array/,
  });
  assert.throws(() => n.syevd([1, 2, 3, 4] as never, 2, new Float64Array(2)), {
    name: 'TypeError',
    message: /A must be a Float64Array or Float32Array/,
  });
  assert.throws(() => n.adamw(f(3), f(3), f(2), f(3), 0.1, 0.9, 0.999, 1e-8, 0, 1, 1), {
    name: 'RangeError',
    message: /same length/,
  });
  assert.throws(() => n.setThreads(0), { name: 'RangeError' });
});

test('sgemm equals a reference product for every transpose combination', { skip }, () => {
  const n = addon();
  const rng = new Rng(1);
  const [m, k, p] = [3, 4, 5];
  const A = Float32Array.from({ length: m * k }, () => rng.normal()); // (m, k)
  const B = Float32Array.from({ length: k * p }, () => rng.normal()); // (k, p)
  const expected = new Float64Array(m * p);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < p; j++)
      for (let t = 0; t < k; t++) expected[i * p + j]! += A[i * k + t]! * B[t * p + j]!;
  const transpose = (x: Float32Array, rows: number, cols: number) =>
    Float32Array.from({ length: rows * cols }, (_, idx) => x[(idx % rows) * cols + Math.floor(idx / rows)]!);
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = ta ? transpose(A, m, k) : A;
      const b = tb ? transpose(B, k, p) : B;
      const c = new Float32Array(m * p);
      n.sgemm(ta, tb, m, p, k, 1, a, ta ? m : k, b, tb ? k : p, 0, c, p);
      assertClose(c, expected, { atol: 1e-5, rtol: 1e-5, label: `sgemm ta=${ta} tb=${tb}` });
    }
  }
});

/** Runs f on the stock wasm path and on the native path, returning both results. */
async function bothPaths<T>(f: () => T): Promise<{ stock: T; native: T }> {
  await selectBackend('wasm');
  const stock = f();
  await selectBackend('native');
  const native = f();
  return { stock, native };
}

const MATMUL_CASES: { a: number[]; b: number[] }[] = [
  { a: [3, 4], b: [4, 5] },
  { a: [2, 3, 4], b: [2, 4, 5] },
  { a: [1, 3, 4], b: [3, 4, 5] }, // batch broadcast from A
  { a: [3, 3, 4], b: [4, 5] }, // rank broadcast from B
];

test(
  'native BatchMatMul broadcasts batch dimensions both ways, as the stock kernels do not',
  { skip },
  async () => {
    addon();
    // [2, 1] against [3] broadcasts to [2, 3]; TensorFlow.js 4.22's stock wasm and cpu kernels return
    // 45 values for the 90-value output, so this case is checked against a direct computation.
    const a = Float32Array.from({ length: 24 }, (_, i) => i / 10);
    const b = Float32Array.from({ length: 60 }, (_, i) => (i % 7) - 3);
    await selectBackend('native');
    const out = tf.tidy(() =>
      tf
        .matMul(tf.tensor(a, [2, 1, 3, 4]), tf.tensor(b, [3, 4, 5]))
        .dataSync()
        .slice(),
    );
    const expected = new Float64Array(90);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let r = 0; r < 3; r++)
          for (let c = 0; c < 5; c++) {
            for (let t = 0; t < 4; t++)
              expected[((i * 3 + j) * 3 + r) * 5 + c]! += a[i * 12 + r * 4 + t]! * b[j * 20 + t * 5 + c]!;
          }
    assertClose(out, expected, { atol: 1e-5, rtol: 1e-5, label: '[2,1,3,4] × [3,4,5]' });
  },
);

test(
  'native BatchMatMul = stock wasm on every transpose and broadcast, with gradients, no leaks',
  { skip },
  async () => {
    addon();
    for (const { a: aShape, b: bShape } of MATMUL_CASES) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s);
          const rng = new Rng(aShape.length * 10 + bShape.length);
          const aData = Float32Array.from({ length: aShape.reduce((x, y) => x * y) }, () => rng.normal());
          const bData = Float32Array.from({ length: bShape.reduce((x, y) => x * y) }, () => rng.normal());
          const sameBatch = aShape.slice(0, -2).join() === bShape.slice(0, -2).join();
          const run = () => {
            const before = tf.memory().numTensors;
            const result = tf.tidy(() => {
              const a = tf.tensor(aData, swap(aShape, ta));
              const b = tf.tensor(bData, swap(bShape, tb));
              // a weighted sum, so the upstream gradient is not all ones
              const f = (x: tf.Tensor, y: tf.Tensor) =>
                tf.sum(
                  tf.mul(
                    tf.matMul(x, y, ta, tb),
                    tf.randomUniform(tf.matMul(x, y, ta, tb).shape, 0, 1, 'float32', 1),
                  ),
                );
              const out = tf.matMul(a, b, ta, tb);
              // TensorFlow.js's BatchMatMul gradient cannot reduce broadcast batch dimensions on any
              // backend (it throws a shape error), so gradients are compared where batches agree.
              if (!sameBatch)
                return [out.dataSync().slice(), new Float32Array(0), new Float32Array(0), out.shape] as const;
              const [ga, gb] = tf.grads(f)([a, b]);
              return [
                out.dataSync().slice(),
                ga!.dataSync().slice(),
                gb!.dataSync().slice(),
                out.shape,
              ] as const;
            });
            assert.equal(tf.memory().numTensors, before, 'tensors leaked');
            return result;
          };
          const { stock, native } = await bothPaths(run);
          const label = `[${aShape}]${ta ? 'ᵀ' : ''} × [${bShape}]${tb ? 'ᵀ' : ''}`;
          assert.deepEqual(native[3], stock[3], `${label}: shape`);
          assertClose(native[0], stock[0], { atol: 1e-5, rtol: 1e-5, label: `${label} value` });
          assertClose(native[1], stock[1], { atol: 1e-5, rtol: 1e-5, label: `${label} dA` });
          assertClose(native[2], stock[2], { atol: 1e-5, rtol: 1e-5, label: `${label} dB` });
        }
      }
    }
  },
);

test(
  'native _FusedMatMul = stock wasm with bias and every activation, with gradients',
  { skip },
  async () => {
    addon();
    const rng = new Rng(5);
    const aData = Float32Array.from({ length: 12 }, () => rng.normal());
    const bData = Float32Array.from({ length: 20 }, () => rng.normal());
    const biasData = Float32Array.from({ length: 5 }, () => rng.normal());
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
      const run = () =>
        tf.tidy(() => {
          const a = tf.tensor2d(aData, [3, 4]);
          const b = tf.tensor2d(bData, [4, 5]);
          const bias = tf.tensor1d(biasData);
          const prelu = activation === 'prelu' ? tf.fill([5], 0.3) : undefined;
          const f = (x: tf.Tensor, y: tf.Tensor) =>
            tf.fused.matMul({
              a: x,
              b: y,
              bias,
              activation,
              preluActivationWeights: prelu,
              leakyreluAlpha: 0.1,
            });
          const out = f(a, b);
          const [ga, gb] = tf.grads((x, y) => tf.sum(f(x, y)))([a, b]);
          return [out.dataSync().slice(), ga!.dataSync().slice(), gb!.dataSync().slice()];
        });
      const { stock, native } = await bothPaths(run);
      assertClose(native[0]!, stock[0]!, { atol: 1e-5, rtol: 1e-5, label: `${activation} value` });
      assertClose(native[1]!, stock[1]!, { atol: 1e-5, rtol: 1e-5, label: `${activation} dA` });
      assertClose(native[2]!, stock[2]!, { atol: 1e-5, rtol: 1e-5, label: `${activation} dB` });
    }
  },
);

test("20 training steps on the native path match the stock path's losses to 1e-5", { skip }, async () => {
  addon();
  const rng = new Rng(9);
  const n = 20 * 32;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const images = Float32Array.from(
    { length: n * 64 },
    (_, k) => rng.uniform() * 0.5 + (k % 64 === labels[Math.floor(k / 64)]! * 6 ? 1 : 0),
  );
  const data = {
    train: imageSet(images, labels, 64),
    test: imageSet(images.slice(0, 64 * 32), labels.slice(0, 32), 64),
  };
  const shape = { input: 64, embed: 24, hidden: 32, classes: 10 };
  const settings = {
    epochs: 1,
    batchSize: 32,
    lr: 0.003,
    weightDecay: 0.5,
    warmupFraction: 0.1,
    latentNoise: 0.3,
    seed: 11,
  };
  const { stock, native } = await bothPaths(() => trainClassifier(shape, settings, data, memoryLog()));
  const [s, nat] = [await stock, await native];
  assert.equal(s.stepLosses.length, 20);
  assert.ok(
    maxAbsDiff(s.stepLosses, nat.stepLosses) <= 1e-5,
    `losses differ by ${maxAbsDiff(s.stepLosses, nat.stepLosses)}`,
  );
  assert.ok(
    maxAbsDiff(s.weights['W']!, nat.weights['W']!) <= 1e-4,
    `weights differ by ${maxAbsDiff(s.weights['W']!, nat.weights['W']!)}`,
  );
});

test('the native AdamW update is bit-identical to the TensorFlow.js one', { skip }, async () => {
  const native = addon();
  await selectBackend('wasm');
  const rng = new Rng(3);
  const p = Float32Array.from({ length: 1000 }, () => rng.normal());
  const g = Float32Array.from({ length: 1000 }, () => rng.normal() * 0.1);
  const m = Float32Array.from({ length: 1000 }, () => rng.normal() * 0.01);
  const v = Float32Array.from({ length: 1000 }, () => rng.uniform() * 0.01);
  const [lr, b1, b2, eps, wd, c1, c2] = [0.003, 0.9, 0.999, 1e-8, 0.5, 1 - 0.9 ** 7, 1 - 0.999 ** 7];
  const expected = tf.tidy(() => {
    const mt = tf.add(tf.mul(tf.tensor1d(m), b1), tf.mul(tf.tensor1d(g), 1 - b1));
    const vt = tf.add(tf.mul(tf.tensor1d(v), b2), tf.mul(tf.square(tf.tensor1d(g)), 1 - b2));
    const update = tf.div(tf.div(mt, c1), tf.add(tf.sqrt(tf.div(vt, c2)), eps));
    return tf
      .sub(tf.mul(tf.tensor1d(p), 1 - lr * wd), tf.mul(update, lr))
      .dataSync()
      .slice();
  });
  native.adamw(p, g, m, v, lr, b1, b2, eps, wd, c1, c2);
  assert.deepEqual(p, expected);
});

test('LAPACK and ml-matrix give the same canonical eigendecomposition', { skip }, () => {
  addon();
  for (const n of [3, 30, 120]) {
    const rng = new Rng(n);
    const q = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) q[i * n + j] = q[j * n + i] = rng.normal();
    const lapack = symmetricEigen(q, n, 'lapack');
    const fallback = symmetricEigen(q, n, 'ml-matrix');
    assertClose(lapack.values, fallback.values, { atol: 1e-10, rtol: 1e-10, label: `λ (n = ${n})` });
    // eigenvalues of a random matrix are distinct, so each eigenvector is unique up to the sign, which the
    // canonical form fixes
    for (let i = 0; i < n; i++)
      assertClose(eigenvector(lapack, i), eigenvector(fallback, i), {
        atol: 1e-8,
        label: `v${i} (n = ${n})`,
      });
  }
});

test(
  'one OpenBLAS thread unless BILINEAR_BLAS_THREADS says otherwise; bad values are refused',
  { skip },
  () => {
    assert.equal(blasThreads({}), 1);
    assert.equal(blasThreads({ BILINEAR_BLAS_THREADS: '2' }), 2);
    assert.throws(
      () => blasThreads({ BILINEAR_BLAS_THREADS: '0' }),
      /BILINEAR_BLAS_THREADS must be a whole number ≥ 1, got '0'/,
    );
    assert.throws(() => blasThreads({ BILINEAR_BLAS_THREADS: 'two' }), /got 'two'/);
    if (process.env['BILINEAR_BLAS_THREADS'] === undefined) assert.equal(loadNative()!.info().threads, 1);
  },
);

test(
  'native Gaussian noise is the Rng stream (to double-rounding of ln, sin, cos), and is N(0, std²)',
  { skip },
  () => {
    const addon = loadNative()!;
    for (const [n, seed, std] of [
      [100_001, 7, 0.3],
      [2, 0, 1],
      [1, 4294967295, 2.5],
    ] as const) {
      const out = new Float32Array(n);
      addon.normals(out, seed, std);
      const reference = new Rng(seed).normalArray(n, std);
      // libm and V8 may round a transcendental differently in a double's last bit: at most one
      // float32 ulp apart (~1e-7 relative), never another draw.
      assertClose(out, reference, { atol: 1e-6 * std, rtol: 1e-6, label: `normals(n = ${n}, seed ${seed})` });
    }
    const big = new Float32Array(1_000_000);
    addon.normals(big, 3, 2);
    const mean = big.reduce((s, x) => s + x, 0) / big.length;
    const variance = big.reduce((s, x) => s + (x - mean) ** 2, 0) / big.length;
    // standard errors at n = 1e6: mean 2/1000 = 0.002, variance 8/1000·√2 ≈ 0.0057; 5 of them
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 4) < 0.03, `variance ${variance}`);
    assert.throws(
      () => addon.normals(new Float32Array(2), -1, 1),
      /seed must be a whole number in \[0, 4294967295\]/,
    );
  },
);

test(
  'dgemm (matmul64) equals the portable float64 product and a plain triple loop, every transpose',
  { skip },
  () => {
    addon();
    const rng = new Rng(4);
    const [m, k, p] = [7, 5, 6];
    const A = Float64Array.from({ length: m * k }, () => rng.normal());
    const B = Float64Array.from({ length: k * p }, () => rng.normal());
    const expected = new Float64Array(m * p);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < p; j++)
        for (let t = 0; t < k; t++) expected[i * p + j]! += A[i * k + t]! * B[t * p + j]!;
    const transpose = (x: Float64Array, rows: number, cols: number) =>
      Float64Array.from(
        { length: rows * cols },
        (_, idx) => x[(idx % rows) * cols + Math.floor(idx / rows)]!,
      );
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = ta
          ? { data: transpose(A, m, k), rows: k, cols: m, transpose: true }
          : { data: A, rows: m, cols: k };
        const b = tb
          ? { data: transpose(B, k, p), rows: p, cols: k, transpose: true }
          : { data: B, rows: k, cols: p };
        assertClose(matmul64(a, b), expected, { atol: 1e-12, rtol: 1e-12, label: `dgemm ta=${ta} tb=${tb}` });
        assertClose(portableMatmul64(a, b), expected, {
          atol: 1e-12,
          rtol: 1e-12,
          label: `portable ta=${ta} tb=${tb}`,
        });
      }
    }
    assert.throws(
      () => matmul64({ data: A, rows: m, cols: k }, { data: B, rows: p, cols: k }),
      /inner dimensions differ/,
    );
    assert.throws(
      () =>
        addon().dgemm(
          false,
          false,
          2,
          2,
          2,
          1,
          new Float32Array(4) as never,
          2,
          new Float64Array(4),
          2,
          0,
          new Float64Array(4),
          2,
        ),
      { name: 'TypeError', message: /A must be a Float64Array/ },
    );
  },
);
