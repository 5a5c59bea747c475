/**
 * Stories in TinyStories' text format (TinyStoriesV2-GPT4-train.txt and -valid.txt): UTF-8 text,
 * stories separated by `<|endoftext|>`, which those files put on a line of its own. The separator
 * is accepted anywhere; each story is trimmed, CRLF line ends become LF, and empty stories are
 * dropped. A held-out set is drawn by story, never by window, so no story is on both sides.
 */
import { readFileSync } from 'node:fs';
import { PipelineError, usageError } from '../errors.ts';
import { describeFsError } from '../util/fs.ts';
import { Rng } from '../util/random.ts';

export const STORY_SEPARATOR = '<|endoftext|>';

const FORMAT_HINT =
  'give a TinyStories-format text file: UTF-8, stories separated by lines of ' + STORY_SEPARATOR;

/**
 * The stories of a TinyStories-format file, in file order. Errors name the file and the fix (exit code 2).
 */
export function readStoriesFile(path: string): string[] {
  const bytes = readBytes(path);
  if (bytes.length === 0) throw badFile(path, 'it is empty');
  const stories = parseStories(decodeUtf8(bytes, path));
  if (stories.length === 0)
    throw badFile(path, `it holds no story, only ${STORY_SEPARATOR} separators and whitespace`);
  return stories;
}

/** The non-empty stories of a text: split at each separator, CRLF made LF, trimmed. */
export function parseStories(text: string): string[] {
  // LF is what the real files use; a CRLF copy (edited on Windows) should give the same stories
  return text
    .replaceAll('\r\n', '\n')
    .split(STORY_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    // describeFsError names the path when the error has one
    const named = (error as NodeJS.ErrnoException).path !== undefined;
    throw new PipelineError(`cannot read stories${named ? '' : ` from ${path}`}: ${describeFsError(error)}`, {
      exitCode: 2,
      cause: error,
      hint: `check the path; ${FORMAT_HINT}`,
    });
  }
}

function badFile(path: string, why: string): PipelineError {
  return new PipelineError(`${path} is not a stories file: ${why}`, { exitCode: 2, hint: FORMAT_HINT });
}

/** Strict UTF-8 decoding; a leading BOM is dropped (TextDecoder's default). */
function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidByte(bytes);
    const where =
      offset === undefined
        ? ''
        : `: the first bad byte, 0x${bytes[offset]!.toString(16).padStart(2, '0')}, ` +
          `is at byte ${offset} (line ${lineOf(bytes, offset)})`;
    throw new PipelineError(`${path} is not valid UTF-8${where}`, {
      exitCode: 2,
      hint: 'convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix the damaged bytes',
    });
  }
}

/**
 * Byte offset of the first invalid UTF-8 sequence. The lenient decoder turns it into the first
 * U+FFFD that is not a genuine (EF BF BD) one, and everything before it is valid UTF-8, so its byte
 * length is the offset. Only called once decoding has failed, so the second pass costs nothing otherwise.
 */
function firstInvalidByte(bytes: Uint8Array): number | undefined {
  // keep the BOM: offsets count its 3 bytes
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  let [offset, from] = [0, 0];
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) {
    offset += Buffer.byteLength(text.slice(from, i), 'utf8');
    if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) return offset;
    offset += 3;
    from = i + 1;
  }
  return undefined;
}

function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

export interface StorySplit<T = string> {
  train: T[];
  heldOut: T[];
}

/**
 * A seeded split by story: round(n · heldOutFraction) stories held out, at least one on each side.
 * Both sides keep the file's order.
 */
export function splitStories<T>(stories: readonly T[], heldOutFraction: number, seed: number): StorySplit<T> {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw usageError(
      `the held-out fraction of stories must lie strictly between 0 and 1, got ${heldOutFraction}`,
    );
  const n = stories.length;
  if (n < 2) {
    throw new PipelineError(
      `${n} ${n === 1 ? 'story' : 'stories'} cannot be split into training and ` +
        `held-out stories; at least 2 are needed`,
      { exitCode: 2, hint: 'give a stories file with more stories' },
    );
  }
  const heldOutCount = Math.min(n - 1, Math.max(1, Math.round(n * heldOutFraction)));
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const held = new Uint8Array(n);
  for (const i of order.slice(0, heldOutCount)) held[i] = 1;
  return { train: stories.filter((_, i) => !held[i]), heldOut: stories.filter((_, i) => held[i]) };
}
