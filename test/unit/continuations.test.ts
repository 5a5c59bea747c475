/**
 * The continuations job (analysis/continuations.ts) for models of the Llama vocabulary: prompts
 * reach the model as Llama ids and come back decoded by the tokenizer file; a model's scalars
 * (a gate's β) reach its sampler, so that a gated model read at β = 0 continues exactly as the
 * bilinear model with its output matrix halved.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import type { Job } from '../../pipeline/cache/job.ts';
import { asContinuations, continuationsJob } from '../../pipeline/analysis/continuations.ts';
import { locateLlamaFiles, readRange } from '../../pipeline/data/llama-files.ts';
import { readLlamaTokenizer } from '../../pipeline/data/llama-tokenizer.ts';
import type { LlamaShape } from '../../pipeline/models/llama-block.ts';
import { llama } from '../../pipeline/models/llama.ts';
import { selectBackend } from '../../pipeline/train/backend.ts';
import { weightTensors, type WeightsMeta } from '../../pipeline/train/job.ts';
import { squareKind } from '../helpers/fixture-jobs.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';
import { runJob } from '../helpers/run-job.ts';

const located = locateLlamaFiles();
const NEEDS_TOKENIZER =
  'missing' in located ? { skip: `the llama tokenizer is not installed: ${located.missing}` } : {};

const SHAPE: LlamaShape = {
  vocab: 32000,
  dim: 8,
  hidden: 12,
  layers: 1,
  heads: 2,
  kvHeads: 2,
  context: 24,
  tiedEmbeddings: true,
  mlp: 'gated',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};

function modelArtifact(shape: LlamaShape, weights: Record<string, Float32Array>): Artifact<WeightsMeta> {
  const json = shape as unknown as WeightsMeta['model']['shape'];
  return {
    kind: 'train/pretrained',
    meta: { model: { kind: 'llama', shape: json, description: llama.describe(shape) } },
    tensors: weightTensors(llama, json, weights),
    files: {},
  };
}

const input = (x: number) => squareKind.create(`input-${x}`, {}, { x }) as unknown as Job<WeightsMeta>;

before(async () => {
  await selectBackend('auto');
});

test(
  'Llama-vocabulary continuations: decoded by the tokenizer, β reaching the sampler',
  NEEDS_TOKENIZER,
  async () => {
    if ('missing' in located) return;
    const tokenizer = readLlamaTokenizer(readRange(located.tokenizer), SHAPE.vocab, located.tokenizer.name);
    const weights = randomLlamaWeights(SHAPE, 4);
    const halved = Object.fromEntries(
      Object.entries(weights).map(([name, w]) => [name, name.endsWith('.w2') ? w.map((v) => v / 2) : w]),
    );
    const prompts = ['Once upon a time', 'The dog'].map((text) => ({
      text,
      llama: tokenizer.encode(text, { bos: true }),
    }));
    const job = continuationsJob(
      'c',
      { gated: input(1), bilinear: input(2) },
      {
        models: [
          { key: 'gated', label: 'gated at β = 0', scalars: { beta: 0 } },
          { key: 'gated', label: 'gated at β = 1' },
          { key: 'bilinear', label: 'bilinear, w2 halved' },
        ],
        prompts,
        maxTokens: 12,
        temperature: 1,
        topP: 0.9,
        seed: 3,
      },
      { range: located.tokenizer, vocab: SHAPE.vocab },
    );
    const { rows } = asContinuations(
      await runJob(job, {
        gated: modelArtifact(SHAPE, weights),
        bilinear: modelArtifact({ ...SHAPE, mlp: 'bilinear' }, halved),
      }),
    ).meta;
    assert.equal(rows.length, 3 * 2 * prompts.length);
    const of = (model: string) => rows.filter((r) => r.model === model).map((r) => r.continuation);
    assert.deepEqual(of('gated at β = 0'), of('bilinear, w2 halved'));
    assert.notDeepEqual(of('gated at β = 1'), of('gated at β = 0'));
    // The text is the tokenizer's: a 12-token continuation decodes to more than 12 characters of
    // pieces, never to compact-vocabulary placeholders.
    for (const r of rows) {
      assert.ok(!r.continuation.includes('<unk>'), r.continuation);
      assert.ok(r.continuation.length > 0);
    }
  },
);

test('a llama sampler refuses a scalar it does not read', () => {
  const weights = randomLlamaWeights({ ...SHAPE, vocab: 300 }, 5);
  assert.throws(
    () =>
      llama.sample!({ ...SHAPE, vocab: 300 }, weights, [[1, 5]], {
        temperature: 0,
        topP: 1,
        maxTokens: 2,
        seed: 1,
        scalars: { gamma: 1 },
      }),
    /reads no scalar 'gamma'/,
  );
});
