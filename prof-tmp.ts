import * as tf from '@tensorflow/tfjs';
import { loadNative } from './pipeline/native/addon.ts';
import { selectBackend } from './pipeline/train/backend.ts';
import { imageSet } from './pipeline/data/dataset.ts';
import { disposeVariables, initWeights, toVariables, variableList } from './pipeline/models/bilinear.ts';
import { AdamW } from './pipeline/train/adamw.ts';
import { batch, trainStep } from './pipeline/train/trainer.ts';
import { Rng } from './pipeline/util/random.ts';
const native = loadNative()!;
await selectBackend('native');
const rng = new Rng(1);
const data = imageSet(Float32Array.from({ length: 128 * 784 }, () => rng.uniform()), Uint8Array.from({ length: 128 }, (_, i) => i % 10), 784);
const vars = toVariables(initWeights({ input: 784, embed: null, hidden: 512, classes: 10 }, 1));
const opt = new AdamW(variableList(vars), { weightDecay: 0.5 });
const idx = Array.from({ length: 128 }, (_, i) => i);
for (let i = 0; i < 5; i++) trainStep(vars, opt, batch(data, idx, 10), { latent: 0, seed: i }, 1e-3);
const N = 30; const t = performance.now();
for (let i = 0; i < N; i++) trainStep(vars, opt, batch(data, idx, 10), { latent: 0, seed: i }, 1e-3);
const total = (performance.now() - t) / N;
console.log('total ms/step', total.toFixed(2));
const prof = await tf.profile(() => { trainStep(vars, opt, batch(data, idx, 10), { latent: 0, seed: 99 }, 1e-3); });
const byKernel = new Map<string, number>();
for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log([...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('\n'));
// eigen
const n = 784; const q = new Float64Array(n * n); for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) q[i * n + j] = q[j * n + i] = rng.normal();
for (let r = 0; r < 3; r++) { const a = Float64Array.from(q); const w = new Float64Array(n); const t0 = performance.now(); native.syevd(a, n, w); console.log('dsyevd 784', (performance.now() - t0).toFixed(1)); }
for (let r = 0; r < 2; r++) { const a = Float32Array.from(q); const w = new Float32Array(n); const t0 = performance.now(); native.syevd(a, n, w); console.log('ssyevd 784', (performance.now() - t0).toFixed(1)); }
{
  const { forward } = await import('./pipeline/models/bilinear.ts');
  const params = variableList(vars);
  const T = { batch: 0, grads: 0, step: 0, sync: 0, dispose: 0 };
  for (let i = 0; i < 30; i++) {
    let t0 = performance.now();
    const b = batch(data, idx, 10); T.batch += performance.now() - t0; t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(b.y, forward(vars, b.x)) as tf.Scalar, params); T.grads += performance.now() - t0; t0 = performance.now();
    opt.step(params.map((p) => grads[p.name]!), 1e-3); T.step += performance.now() - t0; t0 = performance.now();
    value.dataSync(); T.sync += performance.now() - t0; t0 = performance.now();
    tf.dispose([value, b.x, b.y, ...Object.values(grads)]); T.dispose += performance.now() - t0;
  }
  console.log(Object.fromEntries(Object.entries(T).map(([k, v]) => [k, (v / 30).toFixed(2)])));
}
