/**
 * One sampling run for the language bench, in its own process so that two can run at once (one
 * per core, as the build's two workers do): `node bench/sample.ts <batch> <maxTokens> <seed>`
 * samples `batch` stories of stories15M from BOS at temperature 1, top-p 0.9, on the native path
 * with one BLAS thread, every sequence running to maxTokens (no stop token, so runs compare at
 * equal lengths), and prints {"tokens", "seconds"} of the generation after its first step: as
 * llama2.c's run.c times itself (its clock starts after the first position), so that neither
 * side counts a first call's warm-up, nor the model's load.
 */
import { readLlamaCheckpoint } from '../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles, readRange } from '../pipeline/data/llama-files.ts';
import { generate } from '../pipeline/models/llama-generate.ts';
import { llamaFromCheckpoint, llamaParams } from '../pipeline/models/llama.ts';
import { selectBackend } from '../pipeline/train/backend.ts';

const [batch, maxTokens, seed] = process.argv.slice(2).map(Number) as [number, number, number];
const files = locateLlamaFiles();
if ('missing' in files) throw new Error(files.missing);
await selectBackend('native');
const { shape, weights } = llamaFromCheckpoint(
  readLlamaCheckpoint(readRange(files.checkpoint), files.checkpoint.name),
);
const params = llamaParams(shape, weights);
let started = 0;
const out = generate(
  shape,
  params,
  Array.from({ length: batch }, () => [1]),
  { temperature: 1, topP: 0.9, maxTokens, seed, stop: [] },
  (pos) => {
    if (pos === 0) started = performance.now();
  },
);
const seconds = (performance.now() - started) / 1000;
// Every sequence runs to maxTokens; the first step's token of each is not timed.
const tokens = out.tokens.reduce((n, t) => n + t.length, 0) - batch;
console.log(JSON.stringify({ tokens, seconds }));
