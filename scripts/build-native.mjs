// Builds the native addon (native/bilinear_native.c → native/build/bilinear_native.node) when a C
// compiler and Debian's libopenblas-dev and liblapacke-dev are present. Runs after npm install.
//
// It never fails the install: where the addon cannot build, it says why and the pipeline runs on
// the portable path (TensorFlow.js wasm, ml-matrix). Compiled with plain `cc` against the
// Node-API headers of the `node-api-headers` package, rather than node-gyp, because node-gyp
// downloads Node's headers when they are not installed, and this must work offline. Node-API is
// ABI-stable: the one build loads on every Node version.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const sources = ['bilinear_native.c', 'llama_kernels.c'].map((file) => join(root, 'native', file));
const target = join(root, 'native', 'build', 'bilinear_native.node');
const require = createRequire(import.meta.url);

function headers() {
  try {
    return join(dirname(require.resolve('node-api-headers/package.json')), 'include');
  } catch {
    return '/usr/include/node';
  }
}

function skip(reason) {
  console.error(
    `native: not built (${reason}); training and eigensolvers use the portable path (wasm, ml-matrix)`,
  );
  console.error(
    'native: on Debian, `apt-get install libopenblas-dev liblapacke-dev` then `npm run native` enables it',
  );
  process.exit(0);
}

if (process.env.BILINEAR_NO_NATIVE === '1') skip('BILINEAR_NO_NATIVE=1');
const compiler = process.env.CC ?? 'cc';
if (spawnSync(compiler, ['--version']).status !== 0) skip(`no C compiler '${compiler}'`);

mkdirSync(dirname(target), { recursive: true });
const staged = `${target}.tmp-${process.pid}`;
const args = [
  '-O3',
  '-std=c11',
  '-fPIC',
  '-shared',
  '-Wall',
  '-Wextra',
  // Float32 operations one at a time, as in TensorFlow.js: no fused multiply-add contraction.
  '-ffp-contract=off',
  // Compares may be if-converted (vectorised); no value changes: exceptions flags are never read.
  '-fno-trapping-math',
  `-I${headers()}`,
  '-I/usr/include/x86_64-linux-gnu',
  '-I/usr/include/openblas',
  ...sources,
  '-o',
  staged,
  '-lopenblas',
  '-llapacke',
  '-lm',
];
const result = spawnSync(compiler, args, { encoding: 'utf8' });
if (result.status !== 0) {
  rmSync(staged, { force: true });
  const firstError =
    (result.stderr ?? '').split('\n').find((line) => /error|cannot find/.test(line)) ?? 'compiler error';
  skip(firstError.trim());
}
renameSync(staged, target);
if (!existsSync(target)) skip('no output');
console.error(`native: built ${target.slice(root.length + 1)}`);
