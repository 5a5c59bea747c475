/**
 * npm run bench (the language report's model): a training step (forward, backward, AdamW, latent
 * noise) of the default profile's one-layer transformer without normalisation, bilinear and
 * SwiGLU, on the native path with one BLAS thread (as each build worker runs it), interleaved
 * round by round with the same step in PyTorch at one thread when Debian's python3-torch is
 * installed (bench/reference/language_step.py). Random weights and tokens. Tokens per second,
 * numbers not pass/fail; compare within one run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tokenWindows } from '../pipeline/data/tokens.ts';
import { llama, type LlamaShape } from '../pipeline/models/llama.ts';
import { LANGUAGE_PROFILES } from '../pipeline/reports/language.ts';
import { nextToken, nextTokenBatch } from '../pipeline/tasks/next-token.ts';
import { selectBackend } from '../pipeline/train/backend.ts';
import { disposeTrainee, makeTrainee, trainStep } from '../pipeline/train/trainer.ts';
import { Rng } from '../pipeline/util/random.ts';

const PYTHON = '/usr/bin/python3';
const STEPS = 5;
const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const profile = LANGUAGE_PROFILES.default;
const [batch, context] = [profile.train.batchSize, profile.shape.context];

/** Median ms of a native training step after one warm-up step. */
function nativeStep(shape: LlamaShape): number {
  const rng = new Rng(1);
  const windows = tokenWindows(
    Int32Array.from({ length: batch * (context + 1) }, () => rng.int(shape.vocab)),
    batch,
    context,
    shape.vocab,
    'bench',
  );
  const trainee = makeTrainee(
    llama,
    shape,
    nextToken,
    llama.init(shape, rng),
    profile.train.weightDecay ?? 0,
  );
  const indices = Array.from({ length: batch }, (_, i) => i);
  const times: number[] = [];
  for (let i = 0; i <= STEPS; i++) {
    const started = performance.now();
    trainStep(
      trainee,
      nextTokenBatch(windows, indices),
      { latent: profile.train.latentNoise ?? 0, input: 0, dropout: 0, seed: i },
      { lr: 1e-4 },
      0,
    );
    if (i >= 1) times.push(performance.now() - started);
  }
  disposeTrainee(trainee);
  return median(times);
}

/** PyTorch's median ms for the same step at one thread, or why there is none. */
function torchStep(shape: LlamaShape): number | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const script = new URL('./reference/language_step.py', import.meta.url).pathname;
  const args = [
    shape.dim,
    shape.hidden,
    shape.layers,
    shape.heads,
    shape.vocab,
    batch,
    context,
    shape.mlp,
    STEPS,
    1,
  ].map(String);
  const run = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8' });
  if (run.status !== 0)
    return (run.stderr.trim().split('\n').at(-1) ?? 'failed').replace(/^ModuleNotFoundError: /, '');
  return Number(run.stdout.trim().split('\n').at(-1));
}

async function main() {
  await selectBackend('native');
  const forms = (['bilinear', 'gated'] as const).map((mlp) => ({
    mlp,
    shape: { ...profile.shape, vocab: profile.vocabulary, mlp, beta: 1 },
  }));
  const times = forms.map(() => ({ native: [] as number[], torch: [] as (number | string)[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, f] of forms.entries()) {
      times[i]!.native.push(nativeStep(f.shape));
      times[i]!.torch.push(torchStep(f.shape));
    }
  }
  const s = profile.shape;
  console.log(
    `\nLanguage report's model (default profile: d ${s.dim}, MLP width ${s.hidden}, ${s.heads} heads, vocabulary ${profile.vocabulary}, no normalisation), training step at ${batch} × ${context}, 1 thread: tokens per second, median over ${ROUNDS} interleaved rounds of the median of ${STEPS} steps`,
  );
  const rate = (ms: number) => ((batch * context) / (ms / 1000)).toFixed(0).padStart(10);
  for (const [i, f] of forms.entries()) {
    const native = median(times[i]!.native);
    const torch = times[i]!.torch;
    const torchMs = torch.every((t) => typeof t === 'number') ? median(torch) : null;
    console.log(
      `  ${(f.mlp === 'bilinear' ? 'bilinear MLP' : 'SwiGLU MLP').padEnd(14)} native ${rate(native)}   PyTorch ${torchMs === null ? `  (none: ${torch.find((t) => typeof t === 'string')})` : `${rate(torchMs)}   native / PyTorch ${(torchMs / native).toFixed(2)}×`}`,
    );
  }
}

await main();
