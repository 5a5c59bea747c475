/**
 * The tokenizer of llama2.c checkpoints: Karpathy's `tokenizer.bin` export of a sentencepiece BPE
 * vocabulary with byte fallback, read and applied in TypeScript.
 *
 * File (little-endian): int32 max_token_length, then for each of the V tokens: float32 score,
 * int32 byte length n, n bytes of the piece (UTF-8). V is not in the file: the checkpoint's header
 * gives it, and the file must hold exactly V tokens.
 *
 * Ids: 0 `<unk>`, 1 BOS, 2 EOS, 3 … 258 the bytes 0x00 … 0xFF (stored as the UTF-8 of chr(byte)),
 * 259 … the pieces, with ' ' where sentencepiece writes '▁'.
 *
 * encode follows sentencepiece with Llama's settings: a dummy-prefix space before non-empty text;
 * the code points are the first symbols, and one that is no piece falls back to its UTF-8 bytes;
 * then, while some adjacent pair of (non-byte) symbols concatenates to a piece, merge the pair whose
 * piece scores highest (ties: the leftmost). decode(encode(s)) === s for every string s, except that
 * a lone surrogate (not encodable as UTF-8) comes back as U+FFFD.
 */
import { PipelineError } from '../errors.ts';

const BOS = 1;
const EOS = 2;
/** Id of the byte token for 0x00; byte b is FIRST_BYTE + b. */
const FIRST_BYTE = 3;
/** Ids below this are control and byte tokens, which encode never looks up by their text. */
const FIRST_PIECE = FIRST_BYTE + 256;
const SPACE = 0x20;

export interface EncodeOptions {
  /** Put BOS (1) in front. Default false. */
  bos?: boolean;
  /** Put EOS (2) at the end. Default false. */
  eos?: boolean;
  /** Prepend sentencepiece's dummy-prefix space (Llama's setting). Default true. */
  dummyPrefix?: boolean;
}

export interface DecodeOptions {
  /** Drop the dummy-prefix space at the start and after each BOS. Default true, as encode adds it. */
  dummyPrefix?: boolean;
}

const utf8 = new TextEncoder();
const lenientUtf8 = new TextDecoder('utf-8');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class LlamaTokenizer {
  readonly bos = BOS;
  readonly eos = EOS;
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  /** Each token's piece as stored in the file (decoded leniently), for piece(). */
  private readonly pieces: string[];
  /**
   * What each token decodes to: the piece's bytes, the raw byte for byte tokens, nothing for control tokens.
   */
  private readonly output: Uint8Array[];
  private readonly scores: Float32Array;
  /** Piece text → id, for ids ≥ 259 whose piece is valid UTF-8 (no other piece can match text). */
  private readonly ids: Map<string, number>;

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    this.scores = scores;
    this.pieces = pieces.map((p) => lenientUtf8.decode(p));
    this.output = pieces.map((p, id) =>
      id < FIRST_BYTE ? new Uint8Array(0) : id < FIRST_PIECE ? Uint8Array.of(id - FIRST_BYTE) : p,
    );
    this.ids = pieceIds(pieces);
  }

  /** The piece of token `id` as the file stores it (byte tokens as chr(byte), e.g. id 200 → "Å"). */
  piece(id: number): string {
    this.checkId(id);
    return this.pieces[id]!;
  }

  /** The merge score of token `id` (higher merges first; 0 for control and byte tokens in the export). */
  score(id: number): number {
    this.checkId(id);
    return this.scores[id]!;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const { bos = false, eos = false, dummyPrefix = true } = options;
    const out = bos ? [BOS] : [];
    if (text.length > 0) for (const id of this.merge(dummyPrefix ? ' ' + text : text)) out.push(id);
    if (eos) out.push(EOS);
    return out;
  }

  /**
   * The text of `ids`: the bytes of each token (a byte token gives its raw byte), UTF-8 decoded
   * with U+FFFD for invalid sequences. `<unk>`, BOS and EOS give nothing.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const dummyPrefix = options.dummyPrefix ?? true;
    const parts: Uint8Array[] = [];
    let length = 0;
    let atStart = dummyPrefix;
    for (const id of ids) {
      this.checkId(id);
      if (id === BOS) atStart = dummyPrefix;
      let bytes = this.output[id]!;
      if (bytes.length === 0) continue;
      if (atStart && bytes[0] === SPACE) bytes = bytes.subarray(1);
      atStart = false;
      parts.push(bytes);
      length += bytes.length;
    }
    return lenientUtf8.decode(concatBytes(parts, length));
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
      throw new RangeError(`token id ${id} is outside the vocabulary (0 … ${this.vocabSize - 1})`);
  }

  /**
   * BPE over a doubly linked list of symbols, with a heap of candidate merges. A merge keeps the
   * left symbol and drops the right one, so symbol indices stay in text order (the tie rule) and a
   * candidate is stale exactly when its left symbol is gone, its right neighbour changed, or either
   * grew (their lengths no longer add up to the piece's). O(n log n) instead of llama2.c's O(n²).
   */
  private merge(text: string): number[] {
    const symbols = this.initialSymbols(text);
    const { str, id } = symbols;
    const n = id.length;
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const alive = new Uint8Array(n).fill(1);
    const heap = new CandidateHeap();
    const consider = (left: number, right: number) => {
      const a = str[left] ?? null;
      const b = str[right] ?? null;
      // byte-fallback symbols (null) never merge; longer pieces than the file's longest cannot exist
      if (a === null || b === null || a.length + b.length > this.maxTokenLength) return;
      const merged = this.ids.get(a + b);
      if (merged !== undefined)
        heap.push({ score: this.scores[merged]!, left, right, id: merged, length: a.length + b.length });
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
      const { left, right } = c;
      if (!alive[left] || next[left] !== right || str[left]!.length + str[right]!.length !== c.length)
        continue;
      str[left] = str[left]! + str[right]!;
      id[left] = c.id;
      alive[right] = 0;
      next[left] = next[right]!;
      if (next[left] >= 0) prev[next[left]] = left;
      if (prev[left]! >= 0) consider(prev[left]!, left);
      if (next[left] >= 0) consider(left, next[left]);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]!) out.push(id[i]!); // symbol 0 is never merged away
    return out;
  }

  /** One symbol per code point that is a piece; the UTF-8 bytes (as byte tokens) of any other. */
  private initialSymbols(text: string): { str: (string | null)[]; id: number[] } {
    const str: (string | null)[] = [];
    const id: number[] = [];
    for (const ch of text) {
      const piece = this.ids.get(ch);
      if (piece !== undefined) {
        str.push(ch);
        id.push(piece);
      } else {
        for (const b of utf8.encode(ch)) {
          // a lone surrogate encodes as U+FFFD's bytes
          str.push(null);
          id.push(FIRST_BYTE + b);
        }
      }
    }
    return { str, id };
  }
}

/** The lookup table of encode: ids ≥ 259 by piece text; a duplicated piece keeps its lowest id. */
function pieceIds(pieces: Uint8Array[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (let id = FIRST_PIECE; id < pieces.length; id++) {
    let text: string;
    try {
      text = strictUtf8.decode(pieces[id]);
    } catch {
      continue; // text decoded from code points can never equal invalid UTF-8
    }
    if (text.length > 0 && !ids.has(text)) ids.set(text, id);
  }
  return ids;
}

function concatBytes(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  id: number;
  /** UTF-16 length of the merged piece, to tell a stale candidate. */
  length: number;
}

/** Max-heap of candidate merges: highest score first, then the leftmost. */
class CandidateHeap {
  private readonly items: Candidate[] = [];

  push(c: Candidate): void {
    const items = this.items;
    let i = items.push(c) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Candidate | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let best = i;
      if (l < items.length && before(items[l]!, items[best]!)) best = l;
      if (r < items.length && before(items[r]!, items[best]!)) best = r;
      if (best === i) break;
      [items[i], items[best]] = [items[best]!, items[i]!];
      i = best;
    }
    return top;
  }
}

function before(a: Candidate, b: Candidate): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

// ---- reading tokenizer.bin ----

const HINT = 'pass the tokenizer.bin exported with this checkpoint as --llama-tokenizer';

function corrupt(where: string, why: string): PipelineError {
  return new PipelineError(`${where} is not a valid llama2.c tokenizer: ${why}`, {
    exitCode: 2,
    hint: `the file is damaged or of another format; ${HINT}`,
  });
}

function mismatch(where: string, held: number, vocabSize: number): PipelineError {
  return new PipelineError(
    `${where} holds ${held} tokens; the checkpoint's vocabulary has ` +
      `${vocabSize}: the tokenizer does not belong to this checkpoint`,
    {
      exitCode: 2,
      hint: HINT,
    },
  );
}

/**
 * Reads a tokenizer.bin of `vocabSize` tokens (from the checkpoint's header). `where` names the file
 * in errors. Every inconsistency is a PipelineError with exit code 2.
 */
export function readLlamaTokenizer(bytes: Uint8Array, vocabSize: number, where: string): LlamaTokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_PIECE) {
    throw new PipelineError(
      `${where}: a vocabulary of ${vocabSize} tokens cannot hold the 3 control ` +
        `and 256 byte tokens a Llama tokenizer starts with`,
      { exitCode: 2, hint: HINT },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw corrupt(where, `it has ${bytes.length} bytes, fewer than the 4-byte header`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > bytes.length)
    throw corrupt(
      where,
      `max_token_length ${maxTokenLength} is impossible in a file of ${bytes.length} bytes`,
    );
  // pieces are views into this copy, not into a caller's (maybe much larger) buffer
  const own = bytes.slice();
  const pieces: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  let offset = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (offset === bytes.length) throw mismatch(where, id, vocabSize);
    const token = readToken(view, offset, maxTokenLength);
    if (typeof token === 'string') throw corrupt(where, `token ${id} (at byte ${offset}) ${token}`);
    scores[id] = token.score;
    pieces.push(own.subarray(offset + 8, offset + 8 + token.length));
    offset += 8 + token.length;
  }
  if (offset < bytes.length) {
    const extra = countTokens(view, offset, maxTokenLength);
    throw extra === undefined
      ? corrupt(where, `${bytes.length - offset} bytes are left over after its ${vocabSize} tokens`)
      : mismatch(where, vocabSize + extra, vocabSize);
  }
  checkByteTokens(pieces, where);
  return new LlamaTokenizer(pieces, scores, maxTokenLength);
}

/** The score and piece length of the token at `offset`, or what is wrong with it. */
function readToken(
  view: DataView,
  offset: number,
  maxTokenLength: number,
): { score: number; length: number } | string {
  const remaining = view.byteLength - offset;
  if (remaining < 8) return `is cut off after ${remaining} of its 8 header bytes: the file is truncated`;
  const score = view.getFloat32(offset, true);
  const length = view.getInt32(offset + 4, true);
  if (!Number.isFinite(score)) return `has score ${score}`;
  if (length < 0) return `has a negative length ${length}`;
  if (length > maxTokenLength)
    return `is ${length} bytes long, more than the file's max_token_length ${maxTokenLength}`;
  if (length > remaining - 8)
    return `needs ${length} bytes but ${remaining - 8} remain: the file is truncated`;
  return { score, length };
}

/** How many whole tokens the bytes from `offset` to the end hold, or undefined if they are no tokens. */
function countTokens(view: DataView, offset: number, maxTokenLength: number): number | undefined {
  let count = 0;
  while (offset < view.byteLength) {
    const token = readToken(view, offset, maxTokenLength);
    if (typeof token === 'string') return undefined;
    offset += 8 + token.length;
    count++;
  }
  return count;
}

/**
 * Ids 3 … 258 must be the bytes 0x00 … 0xFF, as an export writes them: encode's byte fallback
 * relies on it. Older exports store byte b as chr(b); current ones as the text `<0xBB>`.
 */
function checkByteTokens(pieces: Uint8Array[], where: string): void {
  for (let b = 0; b < 256; b++) {
    const stored = lenientUtf8.decode(pieces[FIRST_BYTE + b]);
    if (
      stored !== String.fromCharCode(b) &&
      stored !== `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`
    ) {
      throw corrupt(
        where,
        `token ${FIRST_BYTE + b} should be the byte 0x${b.toString(16).padStart(2, '0')} ` +
          `(stored as ${JSON.stringify(String.fromCharCode(b))}), but is ${JSON.stringify(stored)}`,
      );
    }
  }
}
