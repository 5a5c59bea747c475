/**
 * The native kernels of a Llama block (native/llama_kernels.c through models/llama-ops.ts and
 * models/kv-cache.ts) against their portable twins: values and gradients of RMSNorm, the rotary
 * rotation and the gate; the cached attention against its TypeScript twin and against whole-window
 * attention (a second way of computing it); the nucleus draw against nucleusDraw; the single-row
 * matrix product against sgemm's definition; and a whole generation on both paths.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { attendCachedPortable, heldPositions, KvCache } from '../../pipeline/models/kv-cache.ts';
import { block, type LlamaShape } from '../../pipeline/models/llama-block.ts';
import { generate, nucleusDraw } from '../../pipeline/models/llama-generate.ts';
import { causalSoftmax, rmsNorm, ropeTable, rotateToHeads, swiglu } from '../../pipeline/models/llama-ops.ts';
import { llama, llamaParams } from '../../pipeline/models/llama.ts';
import { loadNative } from '../../pipeline/native/addon.ts';
import { expVec } from '../../pipeline/native/fast-exp.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

const skip = loadNative() === null ? 'the native addon is not built' : false;

/** f's tensors as arrays on the stock wasm path and on the native path. */
async function bothPaths(f: () => tf.Tensor[]): Promise<{ stock: Float32Array[]; native: Float32Array[] }> {
  const run = () =>
    tf.tidy(f).map((t) => {
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return Float32Array.from(data);
    });
  await selectBackend('wasm');
  const stock = run();
  await selectBackend('native');
  return { stock, native: run() };
}

function compare(
  { stock, native }: { stock: Float32Array[]; native: Float32Array[] },
  names: string[],
  tol: { atol: number; rtol: number },
) {
  assert.equal(native.length, names.length);
  names.forEach((label, i) => assertClose(native[i]!, stock[i]!, { ...tol, label }));
}

const random = (seed: number, n: number, scale = 1) => new Rng(seed).normalArray(n, scale);

test(
  'RMSNorm: native values and gradients equal the TensorFlow.js chain (with a gain and without)',
  { skip },
  async () => {
    const [rows, d] = [7, 24];
    const x = random(1, rows * d, 2);
    const g = random(2, d);
    const w = random(3, rows * d); // the loss Σ w ⊙ y makes every gradient entry matter
    for (const gained of [true, false]) {
      const result = await bothPaths(() => {
        const xs = tf.tensor2d(x, [rows, d]);
        const gs = tf.tensor1d(g);
        const ws = tf.tensor2d(w, [rows, d]);
        const loss = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(rmsNorm(a as tf.Tensor2D, gained ? (b as tf.Tensor1D) : null, 1e-5), ws));
        const [dx, dg] = gained ? tf.grads(loss)([xs, gs]) : [tf.grad((a: tf.Tensor) => loss(a, gs))(xs)];
        return [rmsNorm(xs, gained ? gs : null, 1e-5), dx!, ...(gained ? [dg!] : [])];
      });
      compare(result, ['y', 'dx', ...(gained ? ['dgain'] : [])], { atol: 1e-5, rtol: 1e-5 });
    }
  },
);

test(
  'rotary positions: native rotation into heads and its gradient equal the TensorFlow.js chain',
  { skip },
  async () => {
    const [n, T, H, hs] = [2, 5, 3, 8];
    const table = ropeTable(hs, 10000, 16);
    const x = random(4, n * T * H * hs);
    const w = random(5, n * T * H * hs);
    for (const pos0 of [0, 7]) {
      const result = await bothPaths(() => {
        const xs = tf.tensor2d(x, [n * T, H * hs]);
        const ws = tf.tensor4d(w, [n, H, T, hs]);
        const f = (a: tf.Tensor) => tf.sum(tf.mul(rotateToHeads(a as tf.Tensor2D, n, T, H, table, pos0), ws));
        return [rotateToHeads(xs, n, T, H, table, pos0), tf.grad(f)(xs)];
      });
      // The rotation is the same float32 operations on both paths: equal to the last bit.
      compare(result, [`rotated from position ${pos0}`, 'gradient'], { atol: 0, rtol: 1e-7 });
    }
    // A rotation keeps each pair's length.
    await selectBackend('native');
    const y = tf.tidy(() => rotateToHeads(tf.tensor2d(x, [n * T, H * hs]), n, T, H, table, 3).dataSync());
    const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
    assertClose(norm(y), norm(x), { rtol: 1e-6, label: 'length after rotation' });
  },
);

test('SwiGLU gate: native values and gradients equal the TensorFlow.js chain', { skip }, async () => {
  const shape = [6, 10];
  const a = random(6, 60, 3);
  const b = random(7, 60);
  const w = random(8, 60);
  for (const beta of [1, 0.3]) {
    const result = await bothPaths(() => {
      const [as, bs, ws] = [
        tf.tensor2d(a, shape as [number, number]),
        tf.tensor2d(b, shape as [number, number]),
        tf.tensor2d(w, shape as [number, number]),
      ];
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(swiglu(x, y, beta), ws));
      const [da, db] = tf.grads(f)([as, bs]);
      return [swiglu(as, bs, beta), da!, db!];
    });
    compare(result, [`gate β=${beta}`, 'da', 'db'], { atol: 1e-6, rtol: 1e-5 });
  }
});

const SHAPE: LlamaShape = {
  vocab: 48,
  dim: 24,
  hidden: 40,
  layers: 2,
  heads: 6,
  kvHeads: 2,
  context: 12,
  tiedEmbeddings: false,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};

test(
  'cached attention: native equals its TypeScript twin to the last bit, slot by slot, with rows leaving the batch',
  { skip },
  () => {
    const addon = loadNative()!;
    const [n, H, KV, C] = [4, 6, 2, 10];
    const held = heldPositions(C); // 10 positions in two key tiles, the second partly written
    // Head widths below one 16-lane block, with a tail after one, and stories15M's.
    for (const hs of [8, 20, 48]) {
      const table = ropeTable(hs, 10000, C);
      const caches = [0, 1].map(() => ({
        k: new Float32Array(n * KV * held * hs),
        v: new Float32Array(n * KV * held * hs),
      }));
      let slots = Int32Array.from([2, 0, 3, 1]);
      for (let pos = 0; pos < C; pos++) {
        if (pos === 6) slots = Int32Array.from([3, 2]); // two sequences finished; the others keep their slots
        const rows = slots.length;
        const [q, k, v] = [
          random(10 + pos, rows * H * hs),
          random(40 + pos, rows * KV * hs),
          random(70 + pos, rows * KV * hs),
        ];
        const [outNative, outPortable] = [new Float32Array(rows * H * hs), new Float32Array(rows * H * hs)];
        addon.attendCached(
          q,
          k,
          v,
          caches[0]!.k,
          caches[0]!.v,
          slots,
          rows,
          H,
          KV,
          held,
          hs,
          pos,
          table.cos,
          table.sin,
          outNative,
        );
        attendCachedPortable(
          q,
          k,
          v,
          caches[1]!.k,
          caches[1]!.v,
          slots,
          { heads: H, kvHeads: KV, held, pos, table },
          outPortable,
        );
        const at = `hs ${hs}, position ${pos}`;
        assertClose(caches[0]!.k, caches[1]!.k, { atol: 0, label: `keys stored, ${at}` });
        assertClose(caches[0]!.v, caches[1]!.v, { atol: 0, label: `values stored, ${at}` });
        assertClose(outNative, outPortable, { atol: 0, label: `attention, ${at}` });
      }
    }
    const bad = new Float32Array(n * KV * C * 8);
    assert.throws(
      () =>
        addon.attendCached(
          new Float32Array(H * 8),
          new Float32Array(KV * 8),
          new Float32Array(KV * 8),
          bad,
          bad,
          Int32Array.from([0]),
          1,
          H,
          KV,
          C,
          8,
          0,
          ropeTable(8, 10000, C).cos,
          ropeTable(8, 10000, C).sin,
          new Float32Array(H * 8),
        ),
      /multiple of 8/,
    );
  },
);

test('cache memory in huge pages is zeroed and writable, one array apart from another', { skip }, () => {
  const addon = loadNative()!;
  // Over two 2 MiB pages and not a whole number of them; and below one page (ordinary pages).
  for (const length of [(5 << 20) + 3, 1000]) {
    const [a, b] = [addon.hugeFloat32Array(length), addon.hugeFloat32Array(length)];
    assert.equal(a.length, length);
    assert.ok(
      a.every((x) => x === 0),
      `${length}: zeroed`,
    );
    a.fill(1.5);
    a[length - 1] = -2;
    assert.equal(a[0], 1.5);
    assert.equal(a[length - 1], -2);
    assert.ok(
      b.every((x) => x === 0),
      `${length}: a second array shares nothing with the first`,
    );
  }
  for (const bad of [0, -1, 2.5]) assert.throws(() => addon.hugeFloat32Array(bad), /length/);
});

test('the cached block at each position equals the whole-window block (native and stock paths)', async () => {
  const weights = llama.init(SHAPE, new Rng(3));
  const [n, T] = [3, 9];
  const x = random(12, n * T * SHAPE.dim);
  for (const path of ['wasm', 'native'] as const) {
    if (path === 'native' && skip) continue;
    await selectBackend(path);
    const p = llamaParams(SHAPE, weights);
    const whole = tf.tidy(() =>
      block(SHAPE, p, 1, tf.tensor2d(x, [n * T, SHAPE.dim]), { n, T, beta: 1 }).arraySync(),
    );
    const kv = new KvCache(
      SHAPE.layers,
      n,
      SHAPE.heads,
      SHAPE.kvHeads,
      T,
      ropeTable(SHAPE.dim / SHAPE.heads, 10000, SHAPE.context),
    );
    for (let pos = 0; pos < T; pos++) {
      const rows = Float32Array.from({ length: n * SHAPE.dim }, (_, i) => {
        const [r, j] = [Math.floor(i / SHAPE.dim), i % SHAPE.dim];
        return x[(r * T + pos) * SHAPE.dim + j]!;
      });
      const step = tf.tidy(() =>
        block(SHAPE, p, 1, tf.tensor2d(rows, [n, SHAPE.dim]), {
          n,
          T: 1,
          beta: 1,
          cache: { kv, pos },
        }).dataSync(),
      );
      const expected = Array.from({ length: n }, (_, r) => whole[r * T + pos]!).flat();
      assertClose(step, expected, { atol: 2e-5, rtol: 1e-4, label: `${path}, position ${pos}` });
    }
    tf.dispose(Object.values(p));
  }
});

test(
  'native nucleus draws are exactly nucleusDraw on the same probabilities; top-p 0 is the argmax',
  { skip },
  () => {
    const addon = loadNative()!;
    const [rows, vocab] = [40, 500];
    const rng = new Rng(21);
    const probs = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) {
      // Peaked rows (a few likely tokens, as a language model's) and flat ones, with exact ties.
      const logits = Array.from(
        { length: vocab },
        (_, j) => (r % 2 ? rng.normal() * 4 : Math.floor(rng.uniform() * 3)) + (j === r ? 3 : 0),
      );
      const max = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - max));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, j) => (probs[r * vocab + j] = v / sum));
    }
    for (const topP of [0.9, 0.5, 1]) {
      const uniforms = Float64Array.from({ length: rows }, () => rng.uniform());
      const out = new Int32Array(rows);
      addon.sampleRows(probs, rows, vocab, topP, uniforms, out);
      const expected = Array.from({ length: rows }, (_, r) =>
        nucleusDraw(probs.subarray(r * vocab, (r + 1) * vocab), topP, uniforms[r]!),
      );
      assert.deepEqual(Array.from(out), expected, `top-p ${topP}`);
    }
    const out = new Int32Array(rows);
    addon.sampleRows(probs, rows, vocab, 0, new Float64Array(rows), out);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(probs.subarray(r * vocab, (r + 1) * vocab));
      assert.equal(out[r], row.indexOf(Math.max(...row)), `argmax of row ${r}`);
    }
    assert.throws(
      () =>
        addon.sampleRows(probs, rows + 1, vocab, 0.9, new Float64Array(rows + 1), new Int32Array(rows + 1)),
      /too few/,
    );
  },
);

test(
  'a single-row product (the sampler of one sequence) equals sgemm’s definition, with alpha and beta',
  { skip },
  () => {
    const addon = loadNative()!;
    for (const [n, k] of [
      [5, 3],
      [37, 41],
      [300, 288],
    ] as const) {
      const x = random(30, k);
      const W = random(31, n * k);
      const y0 = random(32, n);
      const expected = Float64Array.from({ length: n }, (_, i) => {
        let s = 0;
        for (let j = 0; j < k; j++) s += W[i * k + j]! * x[j]!;
        return 0.5 * s + 2 * y0[i]!;
      });
      for (const tb of [true, false]) {
        const B = tb
          ? W
          : Float32Array.from({ length: n * k }, (_, idx) => W[(idx % n) * k + Math.floor(idx / n)]!);
        const y = Float32Array.from(y0);
        addon.sgemm(false, tb, 1, n, k, 0.5, x, k, B, tb ? k : n, 2, y, n);
        assertClose(y, expected, { atol: 1e-4, rtol: 1e-5, label: `${n}×${k}, transB ${tb}` });
      }
    }
  },
);

test(
  'generation on the stock and native paths: the same greedy tokens, and no tensors left behind',
  { skip },
  async () => {
    const shape = { ...SHAPE, context: 24 };
    // Weights 15× the initial scale: logits far apart, so no near-tie can flip an argmax between paths.
    const weights = Object.fromEntries(
      Object.entries(llama.init(shape, new Rng(8))).map(([name, w]) => [
        name,
        name.endsWith('_norm') ? w : w.map((v) => v * 15),
      ]),
    );
    const prompts = [[1], [1, 5, 9], [1, 30]];
    const settings = { temperature: 0, topP: 0.9, maxTokens: 16, seed: 1 };
    const run = async (path: 'wasm' | 'native') => {
      await selectBackend(path);
      const p = llamaParams(shape, weights);
      const before = tf.memory().numTensors;
      const out = generate(shape, p, prompts, settings);
      assert.equal(tf.memory().numTensors, before, `${path}: tensors after generating`);
      tf.dispose(Object.values(p));
      return out;
    };
    assert.deepEqual(await run('native'), await run('wasm'));
  },
);

test('the kernels’ exponential is within 2 ulp of e^x over float32’s range, and clamps outside it', () => {
  const ulp = (y: number) => {
    const bits = new Int32Array(new Float32Array([y]).buffer)[0]!;
    return new Float32Array(new Int32Array([bits + 1]).buffer)[0]! - y;
  };
  let worst = 0;
  for (let x = -87.25; x <= 88.6; x += 0.0137) {
    const xf = Math.fround(x);
    const exact = Math.exp(xf);
    worst = Math.max(worst, Math.abs(expVec(xf) - exact) / ulp(Math.fround(exact)));
  }
  assert.ok(worst <= 2, `worst error ${worst.toFixed(2)} ulp`);
  assert.equal(expVec(0), 1);
  assert.equal(expVec(-1000), expVec(-87.3));
  assert.ok(expVec(-1000) > 0 && expVec(-1000) < 2e-38);
  assert.ok(Number.isFinite(expVec(1000)));
});

test(
  'causal softmax: native probabilities and gradient equal the masked TensorFlow.js softmax',
  { skip },
  async () => {
    for (const [Tq, Tk] of [
      [7, 7],
      [3, 10],
      [1, 9],
    ] as const) {
      const shape = [2, 3, Tq, Tk] as [number, number, number, number];
      const size = 2 * 3 * Tq * Tk;
      const x = random(50 + Tk, size, 3);
      const w = random(60 + Tk, size);
      const result = await bothPaths(() => {
        const [xs, ws] = [tf.tensor4d(x, shape), tf.tensor4d(w, shape)];
        const f = (a: tf.Tensor) => tf.sum(tf.mul(causalSoftmax(a as tf.Tensor4D, 0.35), ws));
        return [causalSoftmax(xs, 0.35), tf.grad(f)(xs)];
      });
      compare(result, [`p (${Tq} queries, ${Tk} keys)`, 'gradient'], { atol: 1e-6, rtol: 1e-5 });
      // Masked entries are exactly 0, and each row sums to 1.
      const p = result.native[0]!;
      for (let r = 0; r < size / Tk; r++) {
        const seen = Tk - Tq + (r % Tq) + 1;
        assert.ok(
          p.subarray(r * Tk + seen, (r + 1) * Tk).every((v) => v === 0),
          `row ${r} masked`,
        );
        assertClose(
          p.subarray(r * Tk, (r + 1) * Tk).reduce((a, b) => a + b, 0),
          1,
          { atol: 1e-6, label: `row ${r} sum` },
        );
      }
    }
  },
);
