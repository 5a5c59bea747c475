/**
 * Token data for next-token prediction: each split is a set of windows of T + 1 token ids (the
 * model reads the first T, and learns to predict each next one). A data artifact holds them as
 * `train.tokens`, `validation.tokens` and `test.tokens`, int32 (n, T + 1), and the vocabulary size in its
 * metadata.
 */
import { requireTensor, type Artifact } from '../cache/artifact.ts';

export interface TokenWindows {
  /** (n, T + 1) token ids, row-major. */
  tokens: Int32Array;
  n: number;
  /** Context length T: tokens read per window. */
  context: number;
}

export interface TokenSplits {
  train: TokenWindows;
  validation: TokenWindows;
  test: TokenWindows;
  vocabSize: number;
}

export function tokenWindows(
  tokens: Int32Array,
  n: number,
  context: number,
  vocabSize: number,
  where: string,
): TokenWindows {
  if (tokens.length !== n * (context + 1))
    throw new Error(`${where}: ${tokens.length} token ids do not make ${n} windows of ${context} + 1`);
  const bad = tokens.findIndex((t) => t < 0 || t >= vocabSize);
  if (bad >= 0)
    throw new Error(
      `${where}: token id ${tokens[bad]} at position ${bad} is outside the vocabulary (0 … ${vocabSize - 1})`,
    );
  return { tokens, n, context };
}

/** The train, validation and test windows of a token data artifact. */
export function tokenSplitsOf(data: Artifact): TokenSplits {
  const vocabSize = (data.meta as { vocabSize?: unknown }).vocabSize;
  if (!Number.isInteger(vocabSize)) throw new Error('token data: its metadata has no whole-number vocabSize');
  const part = (name: 'train' | 'validation' | 'test') => {
    const t = requireTensor(data, `${name}.tokens`, 'token data');
    if (t.dtype !== 'I32' || t.shape.length !== 2)
      throw new Error(
        `token data: ${name}.tokens must be int32 (n, T + 1), is ${t.dtype} [${t.shape.join(', ')}]`,
      );
    return tokenWindows(
      t.data as Int32Array,
      t.shape[0]!,
      t.shape[1]! - 1,
      vocabSize as number,
      `token data ${name}`,
    );
  };
  return {
    train: part('train'),
    validation: part('validation'),
    test: part('test'),
    vocabSize: vocabSize as number,
  };
}
