/**
 * The story corpus: windows cut from a stream, a TinyStories-format file made into split token
 * streams and its card, bad input refused with the file named, the card's figures' helpers, and
 * the build rule that skips a report whose optional install is missing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from '../../pipeline/build.ts';
import { JobRunner } from '../../pipeline/cache/runner.ts';
import { CacheStore } from '../../pipeline/cache/store.ts';
import {
  asStories,
  asWindows,
  cutWindows,
  SPLITS,
  storiesJob,
  storiesOf,
  windowsJob,
  type CorpusCard,
  type CorpusMeta,
  type StoriesRequest,
} from '../../pipeline/corpus/job.ts';
import { locateLlamaFiles, readRange, type LlamaFiles } from '../../pipeline/data/llama-files.ts';
import { readLlamaTokenizer, type LlamaTokenizer } from '../../pipeline/data/llama-tokenizer.ts';
import { STORY_SEPARATOR } from '../../pipeline/data/stories.ts';
import { tokenSplitsOf } from '../../pipeline/data/tokens.ts';
import { reportMetaSchema } from '../../pipeline/emit/schema.ts';
import { InputMissing, OptionalInputMissing, PipelineError } from '../../pipeline/errors.ts';
import { cardRows, coverageCurve } from '../../pipeline/figures/corpus.ts';
import { textWidth, wrapText } from '../../pipeline/figures/svg.ts';
import type { ReportSpec } from '../../pipeline/reports/spec.ts';
import { storiesReport } from '../../pipeline/reports/stories.ts';
import { selectBackend, type BackendInfo } from '../../pipeline/train/backend.ts';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import type { Job } from '../../pipeline/cache/job.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { tokenChainKind } from '../helpers/fixture-jobs.ts';
import { runJob } from '../helpers/run-job.ts';

const dir = mkdtempSync(join(tmpdir(), 'corpus-test-'));
let fileCount = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(content: string | Uint8Array): string {
  const path = join(dir, `stories-${fileCount++}.txt`);
  writeFileSync(path, content);
  return path;
}

const located = locateLlamaFiles();
const files: LlamaFiles | null = 'missing' in located ? null : located;
const NEEDS_TOKENIZER = files
  ? {}
  : { skip: `the llama tokenizer is not installed: ${(located as { missing: string }).missing}` };

let backend: BackendInfo;
let tokenizer: LlamaTokenizer;
before(async () => {
  backend = await selectBackend('auto'); // before anything touches TensorFlow.js
  if (files) tokenizer = readLlamaTokenizer(readRange(files.tokenizer), 32000, files.tokenizer.name);
});

const NAMES = ['Tim', 'Lily', 'Sam', 'Mia', 'Ben', 'Zoe'];
const THINGS = ['a red ball', 'a big dog', 'a small boat', 'a shiny stone', 'a kite'];
/** 30 distinct short stories, some of several lines, one with a non-ASCII word. */
const STORIES = Array.from({ length: 30 }, (_, i) => {
  const who = NAMES[i % NAMES.length]!;
  const what = THINGS[i % THINGS.length]!;
  const lines = [
    `Once upon a time, ${who} found ${what} in the park.`,
    `${who} was very happy and played with it for ${i + 1} days.`,
  ];
  if (i % 3 === 0) lines.push(`"Thank you!" said ${who}. The end.`);
  if (i === 7) lines.push('They ate a crêpe at the café.');
  return lines.join('\n');
});
const storiesText = (stories: string[]) => stories.map((s) => `${s}\n${STORY_SEPARATOR}\n`).join('');

function request(path: string, limit: number | null = null, heldOut = 0.25): StoriesRequest {
  return {
    tokenizer: files!.tokenizer,
    file: { path, limit },
    split: { heldOut, seed: 7 },
    samples: 2,
    description: `test file ${path}`,
    backend,
  };
}

/** Every story of a stories artifact, decoded, sorted (a multiset across the splits). */
function decodedStories(a: Artifact<CorpusMeta>): string[] {
  return SPLITS.flatMap((s) => storiesOf(a, s).map((ids) => tokenizer.decode(ids))).sort();
}

function tensorBytes(a: Artifact): Record<string, string> {
  return Object.fromEntries(
    Object.entries(a.tensors).map(([name, t]) => [
      name,
      `${t.dtype}[${t.shape.join(',')}] ${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')}`,
    ]),
  );
}

async function assertJobRefused(
  job: Job,
  inputs: Record<string, Artifact>,
  check: (error: PipelineError) => void,
): Promise<void> {
  await assert.rejects(runJob(job, inputs), (error: unknown) => {
    assert.ok(error instanceof PipelineError, `not a PipelineError: ${String(error)}`);
    assert.equal(error.exitCode, 2);
    check(error);
    return true;
  });
}

// --- cutWindows -----------------------------------------------------------------------------

test('cutWindows: window i is stream[iT … iT + T] at stride T, and each token after the first is a target once', () => {
  for (const [length, T] of [
    [1, 1],
    [2, 1],
    [10, 3],
    [13, 4],
    [17, 4],
    [100, 7],
    [9, 8],
    [9, 9],
  ] as const) {
    const stream = Int32Array.from({ length }, (_, i) => 1000 + i);
    const { tokens, n } = cutWindows(stream, T);
    assert.equal(n, Math.floor((length - 1) / T), `n for length ${length}, T ${T}`);
    assert.equal(tokens.length, n * (T + 1));
    for (let i = 0; i < n; i++) {
      assert.deepEqual(
        Array.from(tokens.subarray(i * (T + 1), (i + 1) * (T + 1))),
        Array.from(stream.subarray(i * T, i * T + T + 1)),
        `window ${i}`,
      );
    }
    // Targets are positions 1 … T of each window: together, stream[1 … nT], each once.
    const targets: number[] = [];
    for (let i = 0; i < n; i++) targets.push(...tokens.subarray(i * (T + 1) + 1, (i + 1) * (T + 1)));
    assert.deepEqual(targets, Array.from(stream.subarray(1, n * T + 1)));
    const tail = length - 1 - n * T;
    assert.ok(tail >= 0 && tail < T, `the dropped tail (${tail}) is shorter than one window`);
  }
});

test('cutWindows: a stream shorter than T + 1 gives no window', () => {
  for (const [length, T] of [
    [0, 1],
    [1, 1],
    [0, 4],
    [4, 4],
    [3, 4],
  ] as const) {
    const { tokens, n } = cutWindows(new Int32Array(length), T);
    assert.equal(n, 0, `length ${length}, T ${T}`);
    assert.equal(tokens.length, 0);
  }
  assert.equal(cutWindows(new Int32Array(5), 4).n, 1, 'exactly T + 1 tokens make one window');
});

// --- a file corpus end to end --------------------------------------------------------------

test(
  'a TinyStories-format file becomes split streams that decode back to exactly its stories',
  NEEDS_TOKENIZER,
  async () => {
    const path = writeTemp(storiesText(STORIES));
    const job = storiesJob('test/corpus', request(path));
    const corpus = asStories(await runJob(job));
    const { card } = corpus.meta;
    assert.equal(corpus.meta.vocabSize, 32000);

    // Split counts add up, every split holds stories.
    assert.equal(
      SPLITS.reduce((n, s) => n + card.stories[s], 0),
      STORIES.length,
    );
    for (const s of SPLITS) assert.ok(card.stories[s] > 0, `${s} is empty`);
    assert.equal(card.stories.validation + card.stories.test, Math.round(STORIES.length * 0.25));

    // Each file story appears in exactly one split, and decodes to its text exactly.
    assert.deepEqual(decodedStories(corpus), [...STORIES].sort());

    for (const s of SPLITS) {
      const stream = corpus.tensors[`${s}.stream`]!.data as Int32Array;
      const starts = corpus.tensors[`${s}.starts`]!.data as Int32Array;
      assert.equal(corpus.tensors[`${s}.stream`]!.dtype, 'I32');
      assert.equal(starts.length, card.stories[s]);
      assert.equal(starts[0], 0, `${s} starts with a story`);
      for (const at of starts) assert.equal(stream[at], 1, `${s}: BOS at offset ${at}`);
      assert.equal(stream.filter((t) => t === 1).length, starts.length, `${s}: BOS only before a story`);
      assert.deepEqual(
        Array.from(starts),
        [...starts].sort((a, b) => a - b),
        `${s}: offsets increase`,
      );
      assert.equal(card.tokens[s], stream.length, `${s}: the card counts the stream`);
      // Stories of a split keep the file's order.
      const texts = storiesOf(corpus, s).map((ids) => tokenizer.decode(ids));
      const positions = texts.map((t) => STORIES.indexOf(t));
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
        `${s} keeps the file order`,
      );
    }
    const allTokens = SPLITS.reduce((n, s) => n + card.tokens[s], 0);
    assert.equal(card.meanTokensPerStory, allTokens / STORIES.length);
    assert.equal(card.unfinished, null);

    // Coverage: shares non-decreasing in top, at most 1; the whole of a small training split is covered by
    // its types.
    const shares = card.vocabulary.coverage.map((c) => c.share);
    assert.deepEqual(
      card.vocabulary.coverage.map((c) => c.top),
      [256, 512, 1024, 2048, 4096],
    );
    for (let i = 1; i < shares.length; i++)
      assert.ok(shares[i]! >= shares[i - 1]!, `coverage at ${card.vocabulary.coverage[i]!.top} decreases`);
    for (const share of shares) assert.ok(share > 0 && share <= 1, `share ${share}`);
    const train = corpus.tensors['train.stream']!.data as Int32Array;
    assert.equal(card.vocabulary.seenInTrain, new Set(train).size);
    if (card.vocabulary.seenInTrain <= 256) assert.equal(shares[0], 1);
    const seen = new Set(train);
    const heldOut = [
      ...(corpus.tensors['validation.stream']!.data as Int32Array),
      ...(corpus.tensors['test.stream']!.data as Int32Array),
    ];
    assert.equal(card.vocabulary.heldOutUnseen, heldOut.filter((t) => !seen.has(t)).length / heldOut.length);

    // Samples are the first validation stories, as text.
    assert.deepEqual(
      card.samples,
      storiesOf(corpus, 'validation')
        .slice(0, 2)
        .map((ids) => tokenizer.decode(ids)),
    );
    assert.ok(card.samples.every((s) => STORIES.includes(s)));

    // The same job twice: the same bytes.
    const again = await runJob(storiesJob('test/corpus', request(path)));
    assert.deepEqual(tensorBytes(again), tensorBytes(corpus));
    assert.deepEqual(again.meta, corpus.meta);
  },
);

test(
  "the key holds the file's content, not its path; a limit keeps the first stories",
  NEEDS_TOKENIZER,
  async () => {
    const text = storiesText(STORIES);
    const [a, b] = [writeTemp(text), writeTemp(text)];
    const runner = new JobRunner({
      cache: new CacheStore(join(dir, 'keys-cache')),
      log: memoryLog(),
      force: false,
    });
    assert.equal(
      runner.key(storiesJob('x', request(a))),
      runner.key(storiesJob('x', request(b))),
      'a copy elsewhere has the same key',
    );
    const other = writeTemp(storiesText(STORIES.slice(1)));
    assert.notEqual(runner.key(storiesJob('x', request(a))), runner.key(storiesJob('x', request(other))));
    assert.notEqual(runner.key(storiesJob('x', request(a))), runner.key(storiesJob('x', request(a, 10))));

    const limited = asStories(await runJob(storiesJob('test/limited', request(a, 10))));
    assert.deepEqual(decodedStories(limited), STORIES.slice(0, 10).sort());
    assert.equal(
      SPLITS.reduce((n, s) => n + limited.meta.card.stories[s], 0),
      10,
    );
    assert.deepEqual((limited.meta.card.settings as { source: { limit: number } }).source.limit, 10);
    assert.equal(cardRows(limited.meta.card).find(([k]) => k === 'stories read')?.[1], 'the first 10');
  },
);

test('windows of T + 1 at stride T from each split, readable as token data', NEEDS_TOKENIZER, async () => {
  const path = writeTemp(storiesText(STORIES));
  const stories = storiesJob('test/corpus', request(path));
  const corpus = await runJob(stories);
  const T = 16;
  const windows = asWindows(await runJob(windowsJob('test/windows', stories, T), { stories: corpus }));
  assert.equal(windows.meta.context, T);
  assert.equal(windows.meta.vocabSize, 32000);
  assert.deepEqual(windows.meta.card, corpus.meta.card);
  for (const s of SPLITS) {
    const stream = corpus.tensors[`${s}.stream`]!.data as Int32Array;
    const expected = cutWindows(stream, T);
    const t = windows.tensors[`${s}.tokens`]!;
    assert.deepEqual(t.shape, [Math.floor((stream.length - 1) / T), T + 1], `${s} shape`);
    assert.equal(windows.meta.windows[s], t.shape[0]);
    assert.deepEqual(Array.from(t.data), Array.from(expected.tokens), `${s} windows`);
  }
  const data = tokenSplitsOf(windows);
  assert.equal(data.vocabSize, 32000);
  assert.equal(data.train.context, T);
  assert.equal(data.validation.n, windows.meta.windows.validation);
  assert.equal(data.test.tokens[0], 1, "the first window starts at a story's BOS");
  assert.throws(
    () => windowsJob('bad', stories, 0),
    (e: unknown) => e instanceof PipelineError && e.exitCode === 2 && /context/.test(e.message),
  );
  assert.throws(() => windowsJob('bad', stories, 2.5), PipelineError);
});

// --- bad input -----------------------------------------------------------------------------

test(
  'an empty file, a file of separators, or one not in UTF-8 is refused, naming the file',
  NEEDS_TOKENIZER,
  async () => {
    const cases: [string | Uint8Array, RegExp][] = [
      ['', /empty/],
      [`${STORY_SEPARATOR}\n\n${STORY_SEPARATOR}\n  \n`, /no story/],
      [
        Uint8Array.from([
          ...Buffer.from('Once upon a time, Tim was sad.\n'),
          0xff,
          0xfe,
          ...Buffer.from('\n<|endoftext|>\n'),
        ]),
        /not valid UTF-8.*byte 31 \(line 2\)/,
      ],
    ];
    for (const [content, message] of cases) {
      const path = writeTemp(content);
      await assertJobRefused(storiesJob('test/bad', request(path)), {}, (error) => {
        assert.ok(error.message.includes(path), `names the file: ${error.message}`);
        assert.match(error.message, message);
        assert.ok(error.hint);
      });
    }
  },
);

test('too few stories for three splits are refused with that reason', NEEDS_TOKENIZER, async () => {
  const two = writeTemp(storiesText(STORIES.slice(0, 2)));
  await assertJobRefused(storiesJob('test/two', request(two)), {}, (error) => {
    assert.match(error.message, /2 stories cannot make train, validation and test splits/);
    assert.ok(error.message.includes(two), `names the file: ${error.message}`);
  });
  // More stories, but a held-out share too small to leave one story each for validation and test.
  const five = writeTemp(storiesText(STORIES.slice(0, 5)));
  await assertJobRefused(storiesJob('test/five', request(five, null, 0.25)), {}, (error) => {
    assert.match(
      error.message,
      /5 stories cannot make train, validation and test splits \(with 0.25 of them held out, at least 6 are needed\)/,
    );
  });
  // The smallest that works at that share: one story each held out.
  const six = await runJob(
    storiesJob('test/six', request(writeTemp(storiesText(STORIES.slice(0, 6))), null, 0.25)),
  );
  assert.deepEqual(
    SPLITS.map((s) => six.meta.card.stories[s]),
    [4, 1, 1],
  );
  assert.throws(
    () => storiesJob('bad', request(five, null, 1)),
    (e: unknown) => e instanceof PipelineError && e.exitCode === 2 && /held-out share/.test(e.message),
  );
});

test(
  "a file that changes after planning is refused, not cached under the old content's key",
  NEEDS_TOKENIZER,
  async () => {
    const path = writeTemp(storiesText(STORIES));
    const job = storiesJob('test/changed', request(path));
    writeFileSync(path, storiesText(STORIES.slice(0, 20)));
    await assertJobRefused(job, {}, (error) => {
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /changed/);
    });
  },
);

test('a context longer than a split is refused, naming the split and the fix', NEEDS_TOKENIZER, async () => {
  const path = writeTemp(storiesText(STORIES));
  const stories = storiesJob('test/corpus', request(path));
  const corpus = asStories(await runJob(stories));
  const { tokens } = corpus.meta.card;
  // A context of exactly a held-out split's length leaves it no window, while train still has some.
  const context = Math.min(tokens.validation, tokens.test);
  const split = tokens.validation <= tokens.test ? 'validation' : 'test';
  assert.ok(tokens.train - 1 >= context);
  await assertJobRefused(windowsJob('test/too-long', stories, context), { stories: corpus }, (error) => {
    assert.match(
      error.message,
      new RegExp(
        `the ${split} split holds ${tokens[split]} tokens, fewer than one window of ${context} \\+ 1`,
      ),
    );
    assert.match(error.hint ?? '', /more stories or a shorter context/);
  });
});

// --- the card's figures --------------------------------------------------------------------

test('coverageCurve: the shares of the most frequent types, at 1, 2, 4, … and the whole vocabulary', () => {
  // counts: type 3 ×4, type 0 ×2, types 1 and 4 ×1, type 2 never; 8 tokens.
  const stream = Int32Array.from([3, 0, 3, 1, 3, 0, 4, 3]);
  assert.deepEqual(coverageCurve(stream, 5), [
    { types: 1, share: 0.5 },
    { types: 2, share: 0.75 },
    { types: 4, share: 1 },
    { types: 5, share: 1 },
  ]);
  // A power-of-two vocabulary: its last point once.
  assert.deepEqual(coverageCurve(Int32Array.from([0, 0, 1, 2, 3, 3, 3, 3]), 4), [
    { types: 1, share: 0.5 },
    { types: 2, share: 0.75 },
    { types: 4, share: 1 },
  ]);
  // Uniform over 6 types, vocabulary 10: k of 6 at k = 1, 2, 4; all at 8 and 10.
  const uniform = Int32Array.from({ length: 60 }, (_, i) => i % 6);
  assert.deepEqual(
    coverageCurve(uniform, 10).map((p) => [p.types, p.share]),
    [
      [1, 0.1666667],
      [2, 0.3333333],
      [4, 0.6666667],
      [8, 1],
      [10, 1],
    ],
  );
});

test('wrapText: every line within the width in pixels; words kept in order, a word wider than a line broken; line breaks kept', () => {
  const text =
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.\nOne day she saw a supercalifragilisticexpialidocious bird.\n\nThe end.';
  const letters = (t: string) => t.replace(/\s+/g, '');
  for (const width of [15, 40, 90, 200, 500, 5000]) {
    const lines = wrapText(text, width);
    for (const line of lines)
      assert.ok(textWidth(line) <= width, `width ${width}: "${line}" is ${textWidth(line)} px`);
    assert.equal(letters(lines.join('')), letters(text), `width ${width}: the letters, in order`);
    // Paragraphs stay apart: wrapping each paragraph alone gives the same lines.
    assert.deepEqual(
      lines,
      text.split('\n').flatMap((p) => wrapText(p, width)),
    );
    assert.ok(lines.length >= text.split('\n').length);
  }
  assert.deepEqual(wrapText('aa bb cc dd', textWidth('aa bb')), ['aa bb', 'cc dd']);
  assert.deepEqual(wrapText('aa bb cc', textWidth('aa bb') - 1), ['aa', 'bb', 'cc']);
  assert.deepEqual(wrapText('a\n\nb', 100), ['a', '', 'b']);
  const broken = wrapText('tiny enormousword x', textWidth('tiny'));
  assert.equal(broken[0], 'tiny');
  assert.equal(broken.join('').replace(/\s+/g, ''), 'tinyenormouswordx');
  assert.ok(broken.length > 3, 'the long word takes several lines');
  for (const line of broken) assert.ok(textWidth(line) <= textWidth('tiny'), line);
  assert.deepEqual(wrapText('', 10), ['']);
});

test('textWidth bounds DejaVu Sans from above: wide glyphs count more, bold more than regular', () => {
  assert.ok(textWidth('<unk>') > textWidth('abcde'));
  assert.ok(textWidth('mmmm') > textWidth('iiii'));
  assert.ok(textWidth('Total', 12, true) > textWidth('Total', 12));
  // DejaVu Sans's own advance of "m" is 0.974 em, of "a" 0.613 em: the bound holds for both
  assert.ok(textWidth('m', 100) >= 97.4 && textWidth('a', 100) >= 61.3);
});

function card(settings: unknown, overrides: Partial<CorpusCard> = {}): CorpusCard {
  return {
    source: 'the source',
    settings: settings as CorpusCard['settings'],
    stories: { train: 12345, validation: 678, test: 679 },
    tokens: { train: 2345678, validation: 123456, test: 123457 },
    meanTokensPerStory: 190.04,
    unfinished: 42,
    vocabulary: {
      size: 32000,
      seenInTrain: 8123,
      coverage: [
        { top: 256, share: 0.61234 },
        { top: 4096, share: 0.998765 },
      ],
      heldOutUnseen: 0.000123,
    },
    samples: ['a story'],
    ...overrides,
  };
}

test('cardRows: a sampled card and a file card, with their numbers formatted', () => {
  const sampled = new Map(
    cardRows(
      card({
        source: {
          kind: 'sampled',
          checkpoint: 'abc',
          stories: 12800,
          batch: 64,
          shardBatches: 4,
          sampling: { temperature: 1, topP: 0.9, maxTokens: 255, seed: 2024 },
        },
        split: { heldOut: 0.1, seed: 7 },
        backend: { name: 'wasm', detail: 'simd' },
      }),
    ),
  );
  assert.equal(sampled.get('source'), 'the source');
  assert.equal(sampled.get('stories (train / validation / test)'), '12,345 / 678 / 679');
  assert.equal(sampled.get('tokens (train / validation / test)'), '2,345,678 / 123,456 / 123,457');
  assert.equal(sampled.get('mean tokens per story (with its BOS)'), '190.0');
  assert.equal(
    sampled.get('sampling'),
    '12,800 sequences from BOS, temperature 1, top-p 0.9, at most 255 tokens, seed 2024, 64 at a time',
  );
  assert.equal(sampled.get('shards'), '50 of 256 sequences; batch b sampled with seed 2024 + 104,729 b');
  assert.equal(sampled.get('dropped (reached the token limit)'), '42');
  assert.equal(sampled.get('sampled on'), 'wasm (simd)');
  assert.equal(
    sampled.get('split'),
    'by story, seeded (seed 7); 10% held out, halved into validation and test',
  );
  assert.equal(sampled.get('token types in the training split'), '8,123 of 32,000');
  assert.equal(sampled.get('training tokens covered by the top 256 types'), '61.23%');
  assert.equal(sampled.get('training tokens covered by the top 4,096 types'), '99.88%');
  assert.equal(sampled.get('held-out tokens of a type unseen in training'), '0.012%');
  assert.equal(sampled.has('stories read'), false);

  const fileSettings = (limit: number | null) => ({
    source: { kind: 'file', file: 'abc', limit },
    split: { heldOut: 0.05, seed: 7 },
  });
  const all = new Map(cardRows(card(fileSettings(null), { unfinished: null })));
  assert.equal(all.get('stories read'), 'all');
  assert.equal(all.get('split'), 'by story, seeded (seed 7); 5% held out, halved into validation and test');
  for (const key of ['sampling', 'shards', 'dropped (reached the token limit)', 'sampled on'])
    assert.equal(all.has(key), false, key);
  assert.equal(
    new Map(cardRows(card(fileSettings(50_000), { unfinished: null }))).get('stories read'),
    'the first 50,000',
  );
  // Every row has a value, and the keys are distinct.
  const rows = cardRows(card(fileSettings(null)));
  assert.equal(new Set(rows.map(([k]) => k)).size, rows.length);
  assert.ok(rows.every(([, v]) => v.length > 0));
});

test(
  'the stories report builds from a --tinystories file: card, coverage and samples',
  NEEDS_TOKENIZER,
  async () => {
    const root = mkdtempSync(join(dir, 'report-'));
    const path = writeTemp(storiesText(STORIES));
    const log = memoryLog();
    const summary = await build({
      profile: 'smoke',
      force: false,
      backend: 'auto',
      outDir: join(root, 'reports'),
      cacheDir: join(root, 'cache'),
      log,
      dataDirs: { tinystories: path },
      reports: [storiesReport],
      only: 'stories',
    });
    assert.deepEqual(summary.emitted, ['stories']);
    const report = reportMetaSchema.parse(
      JSON.parse(readFileSync(join(root, 'reports', 'stories', 'report.json'), 'utf8')),
    );
    assert.deepEqual(report.figures, ['corpus-card', 'vocabulary-coverage', 'sample-stories']);
    const m = (name: string) => report.metrics[name]!.value;
    assert.equal(m('train-stories') + m('validation-stories') + m('test-stories'), STORIES.length);
    assert.equal(m('dropped'), 0);
    // the file by name: the folder it sits in is this machine's, and pages never publish it
    assert.equal(report.settings['tinystories'], basename(path));
    assert.ok(!readFileSync(join(root, 'reports', 'stories', 'report.json'), 'utf8').includes(dirname(path)));
    const samples = JSON.parse(
      readFileSync(join(root, 'reports', 'stories', 'figures', 'sample-stories', 'data.json'), 'utf8'),
    ) as { stories: string[] };
    assert.equal(samples.stories.length, 3);
    assert.ok(samples.stories.every((s) => STORIES.includes(s)));
    const coverage = JSON.parse(
      readFileSync(join(root, 'reports', 'stories', 'figures', 'vocabulary-coverage', 'data.json'), 'utf8'),
    ) as { tokens: number; rows: { types: number; share: number }[] };
    assert.equal(coverage.tokens, m('train-tokens'));
    assert.deepEqual(coverage.rows.at(-1), { types: 32000, share: 1 });
    const svg = readFileSync(
      join(root, 'reports', 'stories', 'figures', 'corpus-card', 'figure.svg'),
      'utf8',
    );
    assert.match(svg, /stories read/);
  },
);

// --- the build's rule for a report whose optional install is missing -----------------------

test('a report whose optional install is missing is skipped, the others built; asked for alone, it fails (exit code 3)', async () => {
  const root = mkdtempSync(join(dir, 'build-'));
  const missing: ReportSpec = {
    id: 'needs-install',
    title: 'Needs an optional install',
    summary: 'A report that cannot plan.',
    plan: () => {
      throw new OptionalInputMissing('x missing', 'install x');
    },
  };
  const chain = tokenChainKind.create('tiny/data', {}, { vocab: 6, step: 1, windows: 4, context: 3 });
  const tiny: ReportSpec = {
    id: 'tiny',
    title: 'A tiny report',
    summary: 'One data job, no figures.',
    plan: () => ({
      settings: {},
      models: [],
      figures: [],
      analyses: [{ id: 'data', job: chain }],
      metrics: (read) => ({
        vocab: { label: 'vocabulary', value: read(chain).meta.vocabSize, format: 'number', digits: 0 },
      }),
    }),
  };
  const options = (only?: string) => {
    const log = memoryLog();
    return {
      log,
      options: {
        profile: 'smoke' as const,
        force: false,
        backend: 'auto' as const,
        outDir: join(root, 'reports'),
        cacheDir: join(root, 'cache'),
        log,
        reports: [missing, tiny],
        ...(only ? { only } : {}),
      },
    };
  };

  const all = options();
  const summary = await build(all.options);
  assert.deepEqual(summary.emitted, ['tiny']);
  assert.ok(
    all.log.lines.some((l) => l.startsWith('[skipped] needs-install') && l.includes('x missing')),
    all.log.lines.join('\n'),
  );
  assert.ok(all.log.lines.some((l) => l.includes('hint: install x')));
  assert.ok(!all.log.lines.some((l) => l.startsWith('[failed]')), all.log.lines.join('\n'));
  const report = reportMetaSchema.parse(
    JSON.parse(readFileSync(join(root, 'reports', 'tiny', 'report.json'), 'utf8')),
  );
  assert.equal(report.metrics['vocab']!.value, 6);
  assert.equal(existsSync(join(root, 'reports', 'needs-install')), false);

  const alone = options('needs-install');
  await assert.rejects(build(alone.options), (error: unknown) => {
    assert.ok(error instanceof PipelineError, String(error));
    assert.equal(error.exitCode, 3);
    assert.match(error.message, /x missing/);
    assert.equal(error.hint, 'install x');
    return true;
  });
  assert.ok(
    alone.log.lines.some((l) => l.startsWith('[failed] needs-install')),
    alone.log.lines.join('\n'),
  );

  // Missing data (not an optional install) skips the report too, but fails the build (exit code 3).
  const broken: ReportSpec = {
    ...missing,
    id: 'broken',
    plan: () => {
      throw new InputMissing('data missing', 'download it');
    },
  };
  await assert.rejects(
    build({ ...options().options, reports: [broken, tiny] }),
    (error: unknown) =>
      error instanceof InputMissing && error.exitCode === 3 && /1 report\(s\) skipped/.test(error.message),
  );
});

test("--status names every job the build would run, a report's analyses included", async () => {
  const root = mkdtempSync(join(dir, 'status-'));
  const chain = tokenChainKind.create('status/data', {}, { vocab: 5, step: 2, windows: 3, context: 3 });
  const report: ReportSpec = {
    id: 'status',
    title: 'Analyses only',
    summary: 'A report whose only job is an analysis.',
    plan: () => ({
      settings: {},
      models: [],
      figures: [],
      analyses: [{ id: 'data', job: chain }],
      metrics: () => ({}),
    }),
  };
  const run = async (statusOnly: boolean) => {
    const log = memoryLog();
    const options = { profile: 'smoke' as const, force: false, backend: 'auto' as const, log, statusOnly };
    await build({
      ...options,
      outDir: join(root, 'reports'),
      cacheDir: join(root, 'cache'),
      reports: [report],
    });
    return log.lines.filter((l) => l.includes('status/data'));
  };
  assert.deepEqual(
    (await run(true)).map((l) => l.split(' ')[0]),
    ['[missing]'],
  );
  await run(false);
  assert.deepEqual(
    (await run(true)).map((l) => l.split(' ')[0]),
    ['[cached]'],
  );
});
