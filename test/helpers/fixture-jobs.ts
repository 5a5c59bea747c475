/**
 * Job kinds for tests, in a module of their own so a worker thread can import it (a test file
 * would run its tests when imported).
 */
import { artifact } from '../../pipeline/cache/artifact.ts';
import { defineJob } from '../../pipeline/cache/job.ts';
import { PipelineError } from '../../pipeline/errors.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';

/** Squares its parameter, plus its input's value: a heavy job, so a pool runs it. */
export const squareKind = defineJob<
  { value: number; thread: string },
  { base?: { value: number } },
  { x: number }
>({
  name: 'test/square',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, inputs, { x }) => {
    const { isMainThread } = await import('node:worker_threads');
    return artifact({
      meta: { value: x * x + (inputs.base?.meta.value ?? 0), thread: isMainThread ? 'main' : 'worker' },
    });
  },
});

/** Token windows for next-token tests: a fixed chain t → (t + step) mod vocab, from seeded starts. */
export const tokenChainKind = defineJob<
  { name: string; source: string; hash: string; vocabSize: number },
  Record<string, never>,
  { vocab: number; step: number; windows: number; context: number }
>({
  name: 'test/token-chain',
  stage: 'data',
  module: import.meta.url,
  run: async (_ctx, _inputs, p) => {
    const make = (n: number, offset: number) => {
      const tokens = new Int32Array(n * (p.context + 1));
      for (let w = 0; w < n; w++)
        for (let i = 0; i <= p.context; i++)
          tokens[w * (p.context + 1) + i] = (w * 3 + offset + i * p.step) % p.vocab;
      return tensor(tokens, [n, p.context + 1]);
    };
    return artifact({
      meta: { name: 'token-chain', source: 'test fixture', hash: '0'.repeat(64), vocabSize: p.vocab },
      tensors: {
        'train.tokens': make(p.windows, 0),
        'validation.tokens': make(Math.max(2, p.windows / 4), 2),
        'test.tokens': make(Math.max(2, p.windows / 4), 1),
      },
    });
  },
});

/** A heavy job kind that always throws `error()`: how failures cross a worker thread. */
function failingKind(name: string, error: () => Error) {
  return defineJob<{ value: number }, Record<string, never>, null>({
    name,
    stage: 'analysis',
    module: import.meta.url,
    heavy: true,
    run: async () => {
      throw error();
    },
  });
}

/** Fails with a PipelineError (exit code 3 and a hint), to see both cross a worker thread. */
export const refusingKind = failingKind(
  'test/refusing',
  () => new PipelineError('the data are missing', { exitCode: 3, hint: 'install them' }),
);

/** Fails with a plain Error (no exit code, no hint), as a bug in a job would. */
export const crashingKind = failingKind('test/crashing', () => new Error('the job broke'));

/** Sleeps `ms` milliseconds where it runs: a heavy job, so a pool runs it (for run-time reports). */
export const sleepKind = defineJob<{ slept: number }, Record<string, never>, { ms: number; id: string }>({
  name: 'test/sleep',
  stage: 'analysis',
  module: import.meta.url,
  heavy: true,
  run: async (_ctx, _inputs, { ms }) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return artifact({ meta: { slept: ms } });
  },
});
