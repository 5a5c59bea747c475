/**
 * The compact vocabulary: chosen from the training split alone, by frequency (ties by lower id),
 * with <unk> and BOS first; a size the training split cannot fill refused with the setting named;
 * token ids round-trip through it on a fixture corpus; held-out types it lacks become <unk> and
 * their share is what the metadata says.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { asStories, SPLITS, storiesJob } from '../../pipeline/corpus/job.ts';
import {
  asVocabularyWindows,
  BOS,
  chooseVocabulary,
  compactMap,
  compactStream,
  decodeCompact,
  llamaIds,
  UNKNOWN,
  vocabularyWindowsJob,
} from '../../pipeline/corpus/vocabulary.ts';
import { locateLlamaFiles, readRange, type LlamaFiles } from '../../pipeline/data/llama-files.ts';
import { readLlamaTokenizer, type LlamaTokenizer } from '../../pipeline/data/llama-tokenizer.ts';
import { STORY_SEPARATOR } from '../../pipeline/data/stories.ts';
import { tokenSplitsOf } from '../../pipeline/data/tokens.ts';
import { PipelineError } from '../../pipeline/errors.ts';
import { selectBackend, type BackendInfo } from '../../pipeline/train/backend.ts';
import { runJob } from '../helpers/run-job.ts';

const located = locateLlamaFiles();
const files: LlamaFiles | null = 'missing' in located ? null : located;
const NEEDS_TOKENIZER = files
  ? {}
  : { skip: `the llama tokenizer is not installed: ${(located as { missing: string }).missing}` };
const dir = mkdtempSync(join(tmpdir(), 'vocabulary-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let backend: BackendInfo;
let tokenizer: LlamaTokenizer;
before(async () => {
  backend = await selectBackend('auto');
  if (files) tokenizer = readLlamaTokenizer(readRange(files.tokenizer), 32000, files.tokenizer.name);
});

test('chooseVocabulary: <unk>, BOS, then the training types by descending count, ties by the lower id; counts per compact id', () => {
  // Llama ids: BOS 1 twice, 500 ×3, 300 ×3, 7 ×1, 900 ×2, Llama's <unk> 0 ×1.
  const train = Int32Array.from([1, 500, 300, 500, 7, 900, 1, 300, 500, 900, 300, 0]);
  const { llama, counts, typesSeen } = chooseVocabulary(train, 1000, 5);
  assert.deepEqual(llama, [-1, 1, 300, 500, 900]);
  assert.equal(typesSeen, 5, 'BOS, 7, 300, 500, 900 (Llama <unk> is not a type)');
  assert.deepEqual(counts, [2, 2, 3, 3, 2], '<unk> counts the left-out 7 and Llama <unk>');
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    train.length,
  );
  assert.deepEqual(
    chooseVocabulary(train, 1000, 6).llama,
    [-1, 1, 300, 500, 900, 7],
    'size − 1 = types seen is allowed',
  );
});

test('chooseVocabulary: a size larger than the training split can fill is refused, naming the setting and the largest size allowed', () => {
  const train = Int32Array.from([1, 500, 300, 500]);
  assert.throws(
    () => chooseVocabulary(train, 1000, 5, 'settings.vocabulary'),
    (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /settings\.vocabulary is 5, but the training split holds only 3 token types/);
      assert.match(e.hint ?? '', /at most 4/);
      return true;
    },
  );
  assert.throws(() => chooseVocabulary(train, 1000, 2.5), /whole number ≥ 3/);
  assert.throws(
    () => chooseVocabulary(Int32Array.from([1, 1000]), 1000, 3),
    /token id 1000 .* outside the tokenizer's 1000 ids/,
  );
});

test('compactStream and llamaIds: every kept type round-trips; the rest become <unk>, and the share is counted', () => {
  const llama = [-1, 1, 300, 500, 900];
  const map = compactMap(llama, 1000);
  const stream = Int32Array.from([1, 500, 7, 900, 300, 42, 1, 500]);
  const { ids, unknown } = compactStream(stream, map);
  assert.deepEqual(Array.from(ids), [BOS, 3, UNKNOWN, 4, 2, UNKNOWN, BOS, 3]);
  assert.equal(unknown, 2 / 8);
  assert.deepEqual(llamaIds({ llama }, ids), [1, 500, 0, 900, 300, 0, 1, 500]);
  assert.throws(() => llamaIds({ llama }, [5]), /compact id 5 is outside the vocabulary \(0 … 4\)/);
  assert.equal(compactStream(new Int32Array(0), map).unknown, 0);
});

const NAMES = ['Tim', 'Lily', 'Sam', 'Mia', 'Ben', 'Zoe'];
const STORIES = Array.from(
  { length: 24 },
  (_, i) =>
    `Once upon a time, ${NAMES[i % 6]} saw ${i % 2 ? 'a red ball' : 'a big dog'} in the park. It was day ${i + 1}.${i === 5 ? ' They ate a crêpe.' : ''}`,
);

function corpus() {
  const path = join(dir, `stories-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(path, STORIES.map((s) => `${s}\n${STORY_SEPARATOR}\n`).join(''));
  return storiesJob('test/corpus', {
    tokenizer: files!.tokenizer,
    file: { path, limit: null },
    split: { heldOut: 0.25, seed: 3 },
    samples: 1,
    description: 'fixture',
    backend,
  });
}

test(
  "the vocabulary job: windows in compact ids that map back to the corpus's own tokens, texts that decode the stories, <unk> shares as counted",
  NEEDS_TOKENIZER,
  async () => {
    const storiesJobbed = corpus();
    const stories = asStories(await runJob(storiesJobbed));
    const train = stories.tensors['train.stream']!.data as Int32Array;
    const typesSeen = chooseVocabulary(train, 32000, 3).typesSeen;
    const size = typesSeen + 1; // every training type kept
    const windows = asVocabularyWindows(
      await runJob(
        vocabularyWindowsJob('test/windows', storiesJobbed, {
          context: 8,
          size,
          tokenizer: files!.tokenizer,
          setting: 'vocabulary',
        }),
        { stories },
      ),
    );
    const { vocabulary } = windows.meta;
    assert.equal(vocabulary.size, size);
    assert.equal(windows.meta.vocabSize, size);
    assert.equal(vocabulary.texts[0], '<unk>');
    assert.equal(vocabulary.texts[1], '<s>');
    const splits = tokenSplitsOf(windows);
    for (const split of SPLITS) {
      const stream = stories.tensors[`${split}.stream`]!.data as Int32Array;
      const set = splits[split];
      // The windows at stride T are the stream's first n·T + 1 tokens: map them back.
      const flat: number[] = [];
      for (let i = 0; i < set.n; i++)
        flat.push(...set.tokens.subarray(i * 9 + (i === 0 ? 0 : 1), (i + 1) * 9));
      const back = llamaIds(vocabulary, flat);
      const original = Array.from(stream.subarray(0, flat.length));
      const kept = new Set(vocabulary.llama);
      assert.deepEqual(
        back,
        original.map((id) => (kept.has(id) ? id : 0)),
        `${split}: compact ids map back to the corpus's tokens`,
      );
      const unknownShare = Array.from(stream).filter((id) => !kept.has(id)).length / stream.length;
      assert.equal(vocabulary.unknown[split], unknownShare, `${split} <unk> share`);
      if (split === 'train') assert.equal(unknownShare, 0, 'every training type is kept');
      if (split !== 'train')
        assert.equal(
          decodeCompact(vocabulary, flat).replaceAll('<unk>', ''),
          tokenizer.decode(
            original.filter((id) => kept.has(id)),
            { dummyPrefix: false },
          ),
          `${split}: texts decode the stories`,
        );
    }
    // Day numbers and "crêpe" are rare: a smaller vocabulary leaves some of them out, as <unk>.
    const small = asVocabularyWindows(
      await runJob(
        vocabularyWindowsJob('test/small', storiesJobbed, {
          context: 8,
          size: 20,
          tokenizer: files!.tokenizer,
          setting: 'vocabulary',
        }),
        { stories },
      ),
    );
    assert.ok(
      small.meta.vocabulary.unknown.train > 0,
      'a vocabulary smaller than the types seen leaves training tokens out',
    );
    assert.deepEqual(
      small.meta.vocabulary.llama,
      vocabulary.llama.slice(0, 20),
      'a smaller vocabulary is a prefix of a larger one',
    );
    await assert.rejects(
      runJob(
        vocabularyWindowsJob('test/big', storiesJobbed, {
          context: 8,
          size: size + 1,
          tokenizer: files!.tokenizer,
          setting: 'settings.vocabulary',
        }),
        { stories },
      ),
      /settings\.vocabulary is \d+, but the training split holds only/,
    );
  },
);

test(
  "the tokenizer's whole vocabulary: the corpus's own ids, every id's text and training count",
  NEEDS_TOKENIZER,
  async () => {
    const storiesJobbed = corpus();
    const stories = asStories(await runJob(storiesJobbed));
    const windows = asVocabularyWindows(
      await runJob(
        vocabularyWindowsJob('test/whole', storiesJobbed, {
          context: 8,
          size: 'tokenizer',
          tokenizer: files!.tokenizer,
          setting: 'vocabulary',
        }),
        { stories },
      ),
    );
    const { vocabulary } = windows.meta;
    assert.equal(vocabulary.size, 32000);
    assert.equal(windows.meta.vocabSize, 32000);
    assert.deepEqual(vocabulary.llama.slice(0, 5), [0, 1, 2, 3, 4]);
    assert.equal(vocabulary.texts[0], '<unk>');
    assert.equal(vocabulary.texts[1], '<s>');
    assert.equal(vocabulary.texts[tokenizer.encode('girl')[0]!], ' girl');
    const train = stories.tensors['train.stream']!.data as Int32Array;
    const counted = new Map<number, number>();
    for (const id of train) counted.set(id, (counted.get(id) ?? 0) + 1);
    for (const [id, n] of counted) assert.equal(vocabulary.trainCounts[id], n, `count of id ${id}`);
    assert.equal(
      vocabulary.trainCounts.reduce((a, b) => a + b, 0),
      train.length,
      'every training token counted once',
    );
    const splits = tokenSplitsOf(windows);
    for (const split of SPLITS) {
      const stream = stories.tensors[`${split}.stream`]!.data as Int32Array;
      assert.deepEqual(
        Array.from(splits[split].tokens.subarray(0, 9)),
        Array.from(stream.subarray(0, 9)),
        `${split}: the windows hold the corpus's own ids`,
      );
      assert.equal(vocabulary.unknown[split], 0, `${split}: nothing becomes <unk>`);
    }
  },
);
