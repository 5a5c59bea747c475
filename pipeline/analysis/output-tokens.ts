/**
 * Which output tokens the language report reads (paper §5): chosen by their text, never by id, so
 * that a page's address (a slug of the text) survives a new corpus or vocabulary.
 *
 * The rule: for each word class below, the `perClass` most frequent of its words in the training
 * split that the vocabulary holds as whole words (the token " girl", with its leading space),
 * plus every required word (the paper's "girl"), plus logit differences: one verb's direction
 * minus the mean of the other chosen verbs' (paper §5: "swim" against other verbs). A required
 * word or a difference's verb that the vocabulary lacks is an error naming it.
 */
import { PipelineError } from '../errors.ts';

/** Short lists of common words of the stories, per word class; kept in code so the rule is visible. */
export const WORD_CLASSES = {
  noun: [
    'girl',
    'boy',
    'mom',
    'dog',
    'cat',
    'park',
    'tree',
    'ball',
    'friend',
    'bird',
    'house',
    'toy',
    'sun',
    'box',
    'car',
    'dad',
    'water',
    'friends',
    'food',
    'garden',
  ],
  verb: [
    'play',
    'saw',
    'went',
    'help',
    'eat',
    'run',
    'jump',
    'swim',
    'look',
    'find',
    'want',
    'see',
    'go',
    'like',
    'loved',
    'wanted',
    'smiled',
    'ran',
    'fly',
    'share',
  ],
  adjective: [
    'happy',
    'big',
    'little',
    'sad',
    'good',
    'red',
    'small',
    'new',
    'kind',
    'scared',
    'nice',
    'pretty',
    'blue',
    'old',
    'fun',
    'funny',
    'hungry',
    'excited',
    'beautiful',
    'tired',
  ],
  function: [
    'the',
    'and',
    'to',
    'a',
    'was',
    'he',
    'she',
    'they',
    'it',
    'of',
    'in',
    'with',
    'her',
    'his',
    'but',
    'so',
    'on',
    'for',
    'that',
    'at',
  ],
} as const;

export type WordClass = keyof typeof WORD_CLASSES;

export interface OutputChoice {
  /** Words of each class to read (the most frequent first). */
  perClass: number;
  /** Words always read, whatever their frequency (the paper's Table 1 is for "girl"). */
  required: string[];
  /** Logit differences: `token` minus the mean of the other chosen verbs. */
  differences: string[];
}

/** One output direction to read: a token's unembedding row, or a difference of rows. */
export interface OutputDirection {
  /** Stable page id: a slug of the text ("girl", "swim-vs-verbs"). */
  slug: string;
  /** What the page calls it: the word, or "swim − mean of other verbs". */
  title: string;
  wordClass: WordClass | 'required' | 'difference';
  /** Vocabulary ids with their weights: u = Σ weight · U[id]. */
  terms: { id: number; weight: number }[];
  /** The token's training count (the first term's for a difference). */
  count: number;
}

/** A page id from a token's text: its letters and digits, lower case, hyphens between runs. */
export function tokenSlug(text: string): string {
  const slug = text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!slug)
    throw new PipelineError(`the token ${JSON.stringify(text)} has no letters or digits to name a page by`);
  return slug;
}

/** The vocabulary id of a whole word (the token with a leading space), or undefined. */
function wordId(texts: readonly string[], word: string): number | undefined {
  const id = texts.indexOf(` ${word}`);
  return id >= 0 ? id : undefined;
}

/**
 * The output directions to read, in a stable order: required words, then each class's most
 * frequent words, then the differences. `texts` and `counts` are the vocabulary's, by compact id.
 */
export function chooseOutputs(
  texts: readonly string[],
  counts: readonly number[],
  choice: OutputChoice,
): OutputDirection[] {
  const need = (word: string, what: string) => {
    const id = wordId(texts, word);
    if (id === undefined)
      throw new PipelineError(
        `the language vocabulary has no token " ${word}" (${what}); choose ` +
          `another word or a larger vocabulary`,
        { exitCode: 2 },
      );
    return id;
  };
  const out: OutputDirection[] = [];
  const taken = new Set<number>();
  const add = (id: number, wordClass: OutputDirection['wordClass']) => {
    if (taken.has(id)) return;
    taken.add(id);
    const word = texts[id]!.trim();
    out.push({
      slug: tokenSlug(word),
      title: word,
      wordClass,
      terms: [{ id, weight: 1 }],
      count: counts[id]!,
    });
  };
  // a required word counts in its own class when it has one ("girl" is a noun)
  const classOf = (word: string) =>
    (Object.keys(WORD_CLASSES) as WordClass[]).find((c) =>
      (WORD_CLASSES[c] as readonly string[]).includes(word),
    ) ?? 'required';
  for (const word of choice.required) add(need(word, 'a required output token'), classOf(word));
  for (const [wordClass, words] of Object.entries(WORD_CLASSES) as [WordClass, readonly string[]][]) {
    const present = words.map((w) => wordId(texts, w)).filter((id): id is number => id !== undefined);
    present.sort((a, b) => counts[b]! - counts[a]! || a - b);
    for (const id of present.slice(0, choice.perClass)) add(id, wordClass);
  }
  for (const word of choice.differences) {
    const id = need(word, 'the verb of a logit difference');
    const others = WORD_CLASSES.verb
      .map((w) => wordId(texts, w))
      .filter((o): o is number => o !== undefined && o !== id);
    if (others.length === 0)
      throw new PipelineError(
        `the difference "${word} − other verbs" needs other verbs in the ` +
          `vocabulary; it holds none of: ${WORD_CLASSES.verb.join(', ')}`,
        { exitCode: 2 },
      );
    out.push({
      slug: `${tokenSlug(word)}-vs-verbs`,
      title: `${word} − mean of ${others.length} other verbs`,
      wordClass: 'difference',
      terms: [{ id, weight: 1 }, ...others.map((o) => ({ id: o, weight: -1 / others.length }))],
      count: counts[id]!,
    });
  }
  const slugs = new Set<string>();
  for (const o of out) {
    if (slugs.has(o.slug)) throw new PipelineError(`two output tokens share the page id '${o.slug}'`);
    slugs.add(o.slug);
  }
  return out;
}
