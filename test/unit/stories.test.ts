import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PipelineError } from '../../pipeline/errors.ts';
import { parseStories, readStoriesFile, splitStories } from '../../pipeline/data/stories.ts';

const dir = mkdtempSync(join(tmpdir(), 'stories-test-'));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` to a fresh temp file and returns its path. */
function storiesFile(content: string | Uint8Array): string {
  const path = join(dir, `stories-${files++}.txt`);
  writeFileSync(path, content);
  return path;
}

function assertRefused(path: string, message: RegExp) {
  assert.throws(
    () => readStoriesFile(path),
    (error: unknown) => {
      assert.ok(error instanceof PipelineError, `not a PipelineError: ${String(error)}`);
      assert.equal(error.exitCode, 2);
      assert.ok(error.message.includes(path), `the message names the file: ${error.message}`);
      assert.match(error.message, message);
      assert.ok(error.hint, 'a hint says how to fix it');
      return true;
    },
  );
}

test('stories are split at <|endoftext|> lines, trimmed, and keep their inner line breaks', () => {
  const path = storiesFile(
    'Once upon a time.\nThe end.\n<|endoftext|>\n  Tim ran.  \n<|endoftext|>\nLily sang.\n',
  );
  assert.deepEqual(readStoriesFile(path), ['Once upon a time.\nThe end.', 'Tim ran.', 'Lily sang.']);
});

test('the separator is accepted anywhere, and empty stories are dropped', () => {
  assert.deepEqual(
    parseStories('<|endoftext|>a<|endoftext|>b <|endoftext|><|endoftext|>\n\n<|endoftext|> c'),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(parseStories('no separator at all\n'), ['no separator at all']);
});

test('CRLF line ends give the same stories as LF, and a UTF-8 BOM is dropped', () => {
  const lf = 'One.\nStill one.\n<|endoftext|>\nTwo — “quoted”.\n';
  assert.deepEqual(
    readStoriesFile(storiesFile(lf.replaceAll('\n', '\r\n'))),
    readStoriesFile(storiesFile(lf)),
  );
  assert.deepEqual(readStoriesFile(storiesFile(lf)), ['One.\nStill one.', 'Two — “quoted”.']);
  const bom = Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('Hi.')]);
  assert.deepEqual(readStoriesFile(storiesFile(bom)), ['Hi.']);
});

test('invalid UTF-8 is refused with the offset and line of the first bad byte', () => {
  const utf8 = (s: string) => [...new TextEncoder().encode(s)];
  // a genuine U+FFFD and a BOM before the bad byte must not throw the offset off
  const before = [0xef, 0xbb, 0xbf, ...utf8('Good story \uFFFD.\n<|endoftext|>\nbad ')];
  assertRefused(
    storiesFile(Uint8Array.from([...before, 0xff, ...utf8(' byte\n')])),
    new RegExp(`is not valid UTF-8: the first bad byte, 0xff, is at byte ${before.length} \\(line 3\\)`),
  );
  assertRefused(
    storiesFile(Uint8Array.from([...utf8('cut off '), 0xe4, 0xb8])),
    /the first bad byte, 0xe4, is at byte 8 \(line 1\)/,
  );
  assertRefused(
    storiesFile(Uint8Array.from([...utf8('latin-1 caf'), 0xe9, ...utf8(' au lait')])),
    /0xe9, is at byte 11/,
  );
});

test('an empty file, a file of only separators, and a missing file are refused', () => {
  assertRefused(storiesFile(''), /is not a stories file: it is empty/);
  assertRefused(
    storiesFile('<|endoftext|>\n \n<|endoftext|>\r\n'),
    /it holds no story, only <\|endoftext\|> separators and whitespace/,
  );
  assertRefused(
    join(dir, 'no-such-file.txt'),
    /cannot read stories: no such file or directory: \S+no-such-file\.txt/,
  );
  assertRefused(dir, /cannot read stories/);
});

test('the split is by story, seeded, disjoint, covers everything and keeps file order', () => {
  const stories = Array.from({ length: 50 }, (_, i) => `story ${i}`);
  const { train, heldOut } = splitStories(stories, 0.2, 7);
  assert.equal(heldOut.length, 10);
  assert.equal(train.length, 40);
  assert.deepEqual([...train, ...heldOut].sort(), [...stories].sort());
  const index = (s: string) => Number(s.split(' ')[1]);
  for (const side of [train, heldOut])
    assert.deepEqual(
      side.map(index),
      side.map(index).sort((a, b) => a - b),
      'file order',
    );
  assert.deepEqual(splitStories(stories, 0.2, 7), { train, heldOut }, 'same seed, same split');
  assert.notDeepEqual(splitStories(stories, 0.2, 8).heldOut, heldOut, 'another seed, another split');
});

test('both sides are non-empty from 2 stories on; fewer stories or a bad fraction are refused', () => {
  assert.deepEqual(splitStories(['a', 'b'], 0.01, 1).heldOut.length, 1);
  assert.deepEqual(splitStories(['a', 'b', 'c'], 0.99, 1).train.length, 1);
  const refused = (stories: string[], fraction: number, message: RegExp) =>
    assert.throws(
      () => splitStories(stories, fraction, 1),
      (error: unknown) =>
        error instanceof PipelineError && error.exitCode === 2 && message.test(error.message),
    );
  refused(
    ['only one'],
    0.5,
    /1 story cannot be split into training and held-out stories; at least 2 are needed/,
  );
  refused([], 0.5, /0 stories cannot be split/);
  for (const fraction of [0, 1, -0.1, Number.NaN])
    refused(['a', 'b'], fraction, /held-out fraction of stories must lie strictly between 0 and 1/);
});
