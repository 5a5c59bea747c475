/**
 * A one-layer transformer without normalisation built by hand, for the token readings and the
 * explained curves: token "boy" is embedded along axis 1 (larger there than any other token), and
 * the MLP is Σ_k c_k (a_k·x)² written along u/|u|², so that Q_u = 5 e1e1ᵀ + e2e2ᵀ − 2 e3e3ᵀ for u
 * the unembedding row of "girl": e1 (the direction of boy's embedding) is its top eigenvector.
 */
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import type { VocabularyWindowsMeta } from '../../pipeline/corpus/vocabulary.ts';
import type { BilinearLayerParts, Weights } from '../../pipeline/models/kind.ts';
import { llama, type LlamaShape } from '../../pipeline/models/llama.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';
import { weightTensors, type ModelMeta } from '../../pipeline/train/job.ts';
import { Rng } from '../../pipeline/util/random.ts';

export const TEXTS = ['<unk>', '<s>', ' girl', ' boy', ' play', ' the', ' happy', ' run'];
export const COUNTS = [0, 5, 9, 4, 7, 20, 3, 6];
export const SHAPE: LlamaShape = {
  vocab: TEXTS.length,
  dim: 4,
  hidden: 4,
  layers: 1,
  heads: 2,
  kvHeads: 2,
  context: 6,
  tiedEmbeddings: false,
  mlp: 'bilinear',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
  norm: 'none',
};
const D = SHAPE.dim;
export const BOY = 3;
export const GIRL = 2;

/** The hand-set weights (see the header). */
export function handWeights(): Record<string, Float32Array> {
  const rng = new Rng(5);
  const embed = Float32Array.from({ length: SHAPE.vocab * D }, () => 0.3 * rng.normal());
  embed.set([0, 2, 0, 0], BOY * D);
  const unembed = Float32Array.from({ length: SHAPE.vocab * D }, () => rng.normal());
  const u = unembed.subarray(GIRL * D, GIRL * D + D);
  const uu = u.reduce((s, x) => s + x * x, 0);
  const axes = [1, 2, 3, 0];
  const coefficients = [5, 1, -2, 0];
  const w1 = new Float32Array(SHAPE.hidden * D);
  const w2 = new Float32Array(D * SHAPE.hidden);
  axes.forEach((axis, k) => {
    w1[k * D + axis] = 1;
    for (let i = 0; i < D; i++) w2[i * SHAPE.hidden + k] = (coefficients[k]! * u[i]!) / uu;
  });
  const random = (n: number) => Float32Array.from({ length: n }, () => 0.5 * rng.normal());
  return {
    embed,
    unembed,
    'layers.0.wq': random(D * D),
    'layers.0.wk': random(D * D),
    'layers.0.wv': random(D * D),
    'layers.0.wo': random(D * D),
    'layers.0.w1': w1,
    'layers.0.w3': Float32Array.from(w1),
    'layers.0.w2': w2,
  };
}

export function modelArtifact(shape: LlamaShape, weights: Record<string, Float32Array>): Artifact<ModelMeta> {
  return {
    kind: 'train/model',
    meta: {
      model: { kind: 'llama', shape, description: 'a hand-built one-layer transformer' },
    } as unknown as ModelMeta,
    tensors: weightTensors(llama, shape, weights),
    files: {},
  };
}

export function windowsArtifact(validationWindows: number): Artifact<VocabularyWindowsMeta> {
  const rng = new Rng(9);
  const split = (n: number) =>
    tensor(
      Int32Array.from({ length: n * (SHAPE.context + 1) }, () => 2 + rng.int(SHAPE.vocab - 2)),
      [n, SHAPE.context + 1],
    );
  const vocabulary = {
    size: TEXTS.length,
    tokenizer: 'fixture',
    texts: TEXTS,
    llama: TEXTS.map((_, i) => i),
    trainCounts: COUNTS,
    typesSeen: TEXTS.length,
    unknown: { train: 0, validation: 0, test: 0 },
  };
  return {
    kind: 'corpus/vocabulary-windows',
    meta: { vocabSize: SHAPE.vocab, context: SHAPE.context, vocabulary } as unknown as VocabularyWindowsMeta,
    tensors: {
      'train.tokens': split(4),
      'validation.tokens': split(validationWindows),
      'test.tokens': split(2),
    },
    files: {},
  };
}

/** The hand-built model as a model artifact. */
export function handModel(shape: LlamaShape = SHAPE): Artifact<ModelMeta> {
  return modelArtifact(shape, handWeights());
}

/** Random windows of the vocabulary, `validation` of them held out. */
export function handWindows(validation: number): Artifact<VocabularyWindowsMeta> {
  return windowsArtifact(validation);
}

/**
 * Runs `fn` while the Llama kind's bilinear layers report every MLP's output matrix P doubled: a
 * decomposition that no longer reproduces the forward pass, which the analyses must refuse.
 */
export function withMisreadMlp<T>(fn: () => T): T {
  const kind = llama as { bilinearLayers: (s: LlamaShape, w: Weights) => BilinearLayerParts[] };
  const honest = kind.bilinearLayers;
  kind.bilinearLayers = (s, w) =>
    honest(s, w).map((l) => ({ ...l, P: { ...l.P, data: l.P.data.map((x) => 2 * x) } }));
  try {
    return fn();
  } finally {
    kind.bilinearLayers = honest;
  }
}
