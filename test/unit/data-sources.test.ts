/**
 * IDX files and where data sets come from: the reader on good, gzipped and corrupt files; the
 * search order and the missing-data message; the download step against a local HTTP server
 * (no test reaches the internet), with checksum verification.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx } from '../../pipeline/data/idx.ts';
import { idxDataJob, splitOf } from '../../pipeline/data/job.ts';
import { downloadDataset, locateDataset, md5, type IdxSource } from '../../pipeline/data/sources.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { idxPair, writeIdxDirectory } from '../helpers/idx-fixtures.ts';

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
    [images.subarray(0, images.length - 10), /train\.idx is not a valid IDX file: truncated: the header promises 3×28×28 = 2352 values but 2342 follow/],
    [Uint8Array.from([...images, 1, 2]), /2 bytes follow the 3×28×28 values/],
    [Uint8Array.from([1, 2, 8, 3, ...images.subarray(4)]), /wrong magic number 0x01020803/],
    [Uint8Array.from([0, 0, 0x0d, 3, ...images.subarray(4)]), /value type 0xd is not unsigned byte/],
    [gzipSync(images).subarray(0, 100), /its gzip stream is broken/],
    [Uint8Array.from([0, 0]), /fewer than the 4-byte magic number/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => parseIdx(bytes, 'train.idx'), message);
});

function fixtureSource(baseUrl: string, files: Record<string, Uint8Array>): IdxSource {
  const names = { trainImages: 'train-images-idx3-ubyte.gz', trainLabels: 'train-labels-idx1-ubyte.gz', testImages: 't10k-images-idx3-ubyte.gz', testLabels: 't10k-labels-idx1-ubyte.gz' };
  return {
    name: 'tiny',
    title: 'Tiny',
    classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
    files: names,
    md5: Object.fromEntries(Object.entries(names).map(([part, file]) => [part, files[file] ? md5(files[file]) : '0'.repeat(32)])) as IdxSource['md5'],
    baseUrl,
    envDir: 'TINY_DIR',
    envUrl: 'TINY_URL',
    systemDirs: [],
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
  assert.equal(locateDataset({ ...source, systemDirs: [b] }, { cacheDir: tmp(), env: {} }).how, 'system copy');
  // a named directory without the files is an error, even when a system copy exists
  assert.throws(() => locateDataset({ ...source, systemDirs: [b] }, { cacheDir: tmp(), env: { TINY_DIR: tmp() } }), /Tiny not found; looked in .* \(\$TINY_DIR\)$/);
  assert.throws(() => locateDataset(source, { cacheDir: tmp(), env: {} }), /looked in .*downloads\/tiny \(download cache\)$/);
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
  const job = idxDataJob(source, located, { seed: 1 });
  const { train, test: held } = splitOf(await job.run({ log: memoryLog(), key: 'k' }, {}));
  assert.equal(train.n, 40);
  assert.equal(held.n, 20);
  assert.ok(train.images.every((x) => x >= 0 && x <= 1));
});

test('download: a corrupted file (wrong checksum) is refused and nothing is kept', async () => {
  const cacheDir = tmp();
  const source = fixtureSource(baseUrl, served);
  const bad = { ...source, md5: { ...source.md5, testLabels: '0'.repeat(32) } };
  await assert.rejects(downloadDataset(bad, cacheDir, memoryLog(), {}), /t10k-labels-idx1-ubyte\.gz has MD5 [0-9a-f]{32}, expected 0{32}; not using it/);
  const dir = join(cacheDir, 'downloads', 'tiny');
  assert.ok(!existsSync(join(dir, 't10k-labels-idx1-ubyte.gz')));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  await assert.rejects(downloadDataset({ ...source, files: { ...source.files, trainImages: 'missing.gz' } }, tmp(), memoryLog(), {}), /could not download .*missing\.gz: HTTP 404/);
});

test('image and label files that disagree, or labels out of range, fail naming the files', async () => {
  const dir = tmp();
  writeIdxDirectory(dir);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([19], new Uint8Array(19))));
  const source = fixtureSource('http://127.0.0.1:9/', {});
  const job = idxDataJob(source, locateDataset(source, { dir, cacheDir: tmp(), env: {} }), { seed: 1 });
  await assert.rejects(job.run({ log: memoryLog(), key: 'k' }, {}), /t10k-images-idx3-ubyte\.gz holds 20 images but .*t10k-labels-idx1-ubyte\.gz holds 19 labels/);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([20], new Uint8Array(20).fill(12))));
  const again = idxDataJob(source, locateDataset(source, { dir, cacheDir: tmp(), env: {} }), { seed: 1 });
  await assert.rejects(again.run({ log: memoryLog(), key: 'k' }, {}), /label 12 at index 0 is not a class \(0 … 9\)/);
});
