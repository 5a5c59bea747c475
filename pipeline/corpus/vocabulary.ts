/**
 * A small vocabulary for small language models (the paper's use 4,096 tokens): the corpus's Llama
 * token ids mapped to the most frequent types of the *training* split, every other type to one
 * unknown token. The Llama tokenizer has 32,000 types, most of which children's stories never
 * use; every unused row of the embedding and unembedding would cost training time and clutter
 * every ranking of tokens.
 *
 *   compact id 0         <unk>: every type outside the vocabulary (and Llama's own <unk>)
 *   compact id 1         BOS, which opens every story (llama2.c's generation stops at it)
 *   compact ids 2 … N−1  the N − 2 most frequent other types of the training split, most
 *                        frequent first (ties: the lower Llama id)
 *
 * N − 1 must not exceed the types the training split holds (BOS counted): a larger size would
 * mean rows no training token ever reaches, and is refused with the setting to change. The
 * validation and test splits are mapped with the training split's vocabulary, never their own,
 * and the share of their tokens that become <unk> is published.
 *
 * A model of the Llama vocabulary itself (a pretrained checkpoint) takes size 'tokenizer': every
 * Llama id is its own compact id, so the windows are the corpus's own ids with each id's text.
 */
import { asJson, artifact, requireTensor, type Artifact } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { rangeFingerprint, verifiedBytes, type ByteRange } from '../data/llama-files.ts';
import { readLlamaTokenizer, type LlamaTokenizer } from '../data/llama-tokenizer.ts';
import { PipelineError } from '../errors.ts';
import { tensor } from '../tensors/safetensors.ts';
import { asStories, cutWindows, SPLITS, type CorpusMeta, type CorpusSplit, type WindowsMeta } from './job.ts';

export const UNKNOWN = 0;
export const BOS = 1;
/** Llama's own ids of <unk> and BOS. */
const LLAMA_UNKNOWN = 0;
const LLAMA_BOS = 1;

export interface Vocabulary {
  size: number;
  /** The tokenizer file the Llama ids belong to. */
  tokenizer: string;
  /**
   * Each compact id's text as the stream spells it (leading space kept; byte tokens as <0xHH>; <unk>, <s>).
   */
  texts: string[];
  /** Each compact id's Llama id (−1 for <unk>, which stands for every type left out). */
  llama: number[];
  /** Each compact id's count in the training split. */
  trainCounts: number[];
  /** Token types the training split holds (BOS counted), of which size − 1 are kept. */
  typesSeen: number;
  /** Share of each split's tokens that are <unk> in compact ids. */
  unknown: Record<CorpusSplit, number>;
}

export type VocabularyWindowsMeta = WindowsMeta & { vocabulary: Vocabulary };

/**
 * The Llama id of each compact id ≥ 1 (BOS, then by descending training count, ties by lower id)
 * and the training counts; refuses a size the training split cannot fill.
 */
export function chooseVocabulary(
  train: Int32Array,
  llamaVocab: number,
  size: number,
  setting = 'the vocabulary size',
): { llama: number[]; counts: number[]; typesSeen: number } {
  if (!Number.isInteger(size) || size < 3)
    throw new PipelineError(
      `${setting} must be a whole number ≥ 3 (<unk>, BOS and one more token), got ${size}`,
      { exitCode: 2 },
    );
  const counts = trainingCounts(train, llamaVocab);
  const others = Array.from({ length: llamaVocab }, (_, id) => id).filter(
    (id) => id !== LLAMA_UNKNOWN && id !== LLAMA_BOS && counts[id]! > 0,
  );
  const typesSeen = others.length + (counts[LLAMA_BOS]! > 0 ? 1 : 0);
  if (size - 1 > typesSeen) {
    throw new PipelineError(
      `${setting} is ${size}, but the training split holds only ${typesSeen} ` +
        `token types, so ${size - 1 - typesSeen} rows would never see a training token`,
      {
        exitCode: 2,
        hint: `set ${setting} to at most ${typesSeen + 1}, or sample more stories`,
      },
    );
  }
  others.sort((a, b) => counts[b]! - counts[a]! || a - b);
  const llama = [-1, LLAMA_BOS, ...others.slice(0, size - 2)];
  const unknownCount = train.length - llama.slice(1).reduce((s, id) => s + counts[id]!, 0);
  return { llama, counts: [unknownCount, ...llama.slice(1).map((id) => counts[id]!)], typesSeen };
}

/**
 * The tokenizer's whole vocabulary, ids unchanged (for a model of the Llama vocabulary itself, such
 * as a pretrained checkpoint): every id is its own compact id, with its training count.
 */
export function wholeVocabulary(
  train: Int32Array,
  llamaVocab: number,
): { llama: number[]; counts: number[]; typesSeen: number } {
  const counts = trainingCounts(train, llamaVocab);
  const typesSeen = counts.filter((c, id) => id !== LLAMA_UNKNOWN && c > 0).length;
  return { llama: Array.from({ length: llamaVocab }, (_, id) => id), counts: Array.from(counts), typesSeen };
}

/** How often each Llama id occurs in the training split; an id outside the tokenizer is refused. */
function trainingCounts(train: Int32Array, llamaVocab: number): Float64Array {
  const counts = new Float64Array(llamaVocab);
  for (const t of train) {
    if (!(t >= 0 && t < llamaVocab))
      throw new PipelineError(
        `vocabulary: token id ${t} in the training split is outside the tokenizer's ${llamaVocab} ids`,
        { exitCode: 2 },
      );
    counts[t]!++;
  }
  return counts;
}

/** Llama id → compact id (types outside the vocabulary → <unk>). */
export function compactMap(llama: readonly number[], llamaVocab: number): Int32Array {
  const map = new Int32Array(llamaVocab).fill(UNKNOWN);
  llama.forEach((id, c) => {
    if (id >= 0) map[id] = c;
  });
  return map;
}

/** A stream in compact ids, and the share of its tokens that became <unk>. */
export function compactStream(stream: Int32Array, map: Int32Array): { ids: Int32Array; unknown: number } {
  const ids = new Int32Array(stream.length);
  let unknown = 0;
  for (let i = 0; i < stream.length; i++) {
    ids[i] = map[stream[i]!]!;
    if (ids[i] === UNKNOWN) unknown++;
  }
  return { ids, unknown: stream.length === 0 ? 0 : unknown / stream.length };
}

/**
 * Compact ids back to Llama ids (<unk> to Llama's <unk>): the inverse of compactStream on every kept type.
 */
export function llamaIds(vocabulary: Pick<Vocabulary, 'llama'>, ids: ArrayLike<number>): number[] {
  return Array.from(ids, (c) => {
    const id = vocabulary.llama[c];
    if (id === undefined)
      throw new PipelineError(
        `compact id ${c} is outside the vocabulary (0 … ${vocabulary.llama.length - 1})`,
      );
    return id < 0 ? LLAMA_UNKNOWN : id;
  });
}

/** A token's text as a reader sees it in a list: the piece's bytes, byte tokens as <0xHH>. */
function tokenText(tokenizer: LlamaTokenizer, id: number): string {
  if (id < 0 || id === LLAMA_UNKNOWN) return '<unk>';
  if (id === LLAMA_BOS) return '<s>';
  if (id >= 3 && id < 3 + 256) return `<0x${(id - 3).toString(16).toUpperCase().padStart(2, '0')}>`;
  return tokenizer.decode([id], { dummyPrefix: false });
}

/**
 * Compact ids as text, as a reader sees a story: byte tokens as their bytes, BOS as nothing, <unk> marked.
 */
export function decodeCompact(vocabulary: Pick<Vocabulary, 'texts'>, ids: ArrayLike<number>): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === BOS) continue;
    const text = vocabulary.texts[id];
    if (text === undefined)
      throw new PipelineError(
        `compact id ${id} is outside the vocabulary (0 … ${vocabulary.texts.length - 1})`,
      );
    const byte = /^<0x([0-9A-F]{2})>$/.exec(text);
    if (byte) bytes.push(parseInt(byte[1]!, 16));
    else bytes.push(...encoder.encode(text));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** `size`: compact ids kept, or 'tokenizer' for the tokenizer's whole vocabulary with its own ids. */
type Params = { context: number; size: number | 'tokenizer'; tokenizer: string; setting: string };

const vocabularyWindows = defineJob<VocabularyWindowsMeta, { stories: CorpusMeta }, Params>({
  name: 'corpus/vocabulary-windows',
  stage: 'data',
  module: import.meta.url,
  run: async (ctx, inputs, params) => {
    const stories = asStories(inputs.stories);
    const at = ctx.locations as unknown as { tokenizer: ByteRange };
    const tokenizer = readLlamaTokenizer(
      verifiedBytes(at.tokenizer, params.tokenizer),
      stories.meta.vocabSize,
      at.tokenizer.name,
    );
    const streams = Object.fromEntries(
      SPLITS.map((s) => [s, requireTensor(stories, `${s}.stream`, 'stories').data as Int32Array]),
    ) as Record<CorpusSplit, Int32Array>;
    const { llama, counts, typesSeen } =
      params.size === 'tokenizer'
        ? wholeVocabulary(streams.train, stories.meta.vocabSize)
        : chooseVocabulary(streams.train, stories.meta.vocabSize, params.size, params.setting);
    const map = compactMap(llama, stories.meta.vocabSize);
    const tensors: Artifact['tensors'] = {
      'vocabulary.llama': tensor(Int32Array.from(llama), [llama.length]),
    };
    const windows = {} as Record<CorpusSplit, number>;
    const unknown = {} as Record<CorpusSplit, number>;
    for (const split of SPLITS) {
      const compact = compactStream(streams[split], map);
      const cut = cutWindows(compact.ids, params.context);
      if (cut.n === 0)
        throw new PipelineError(
          `corpus: the ${split} split holds ${compact.ids.length} tokens, fewer ` +
            `than one window of ${params.context} + 1`,
          { exitCode: 2, hint: 'use more stories or a shorter context' },
        );
      tensors[`${split}.tokens`] = tensor(cut.tokens, [cut.n, params.context + 1]);
      windows[split] = cut.n;
      unknown[split] = compact.unknown;
    }
    const vocabulary: Vocabulary = {
      size: llama.length,
      tokenizer: at.tokenizer.name,
      texts: llama.map((id) => tokenText(tokenizer, id)),
      llama,
      trainCounts: counts,
      typesSeen,
      unknown,
    };
    ctx.log.info(
      (params.size === 'tokenizer'
        ? `  the tokenizer's ${llama.length} ids, ${typesSeen} of them in the training split; <unk> `
        : `  ${llama.length} of ${typesSeen + 1} types; <unk> `) +
        `${SPLITS.map((s) => `${(unknown[s] * 100).toFixed(2)}% (${s})`).join(', ')}`,
    );
    const { meta } = stories;
    return artifact({
      meta: {
        name: meta.name,
        source: meta.source,
        hash: meta.hash,
        vocabSize: llama.length,
        context: params.context,
        windows,
        card: meta.card,
        vocabulary,
      },
      tensors,
    });
  },
});

/**
 * Next-token windows of context T over the corpus in a vocabulary of `size` compact ids.
 * `setting` names the report setting that chose the size, for the error a too-large size gets.
 */
export function vocabularyWindowsJob(
  label: string,
  stories: Job<CorpusMeta>,
  options: { context: number; size: number | 'tokenizer'; tokenizer: ByteRange; setting: string },
): Job<VocabularyWindowsMeta> {
  if (!Number.isInteger(options.context) || options.context < 1)
    throw new PipelineError(
      `corpus: the context must be a whole number of tokens ≥ 1, got ${options.context}`,
      { exitCode: 2 },
    );
  const params: Params = {
    context: options.context,
    size: options.size,
    tokenizer: rangeFingerprint(options.tokenizer),
    setting: options.setting,
  };
  return vocabularyWindows.create(label, { stories }, params, {
    locations: asJson({ tokenizer: { ...options.tokenizer } }),
  });
}

export function asVocabularyWindows(
  a: Artifact | undefined,
  what = 'windows',
): Artifact<VocabularyWindowsMeta> {
  return artifactOf(a, vocabularyWindows, what);
}
