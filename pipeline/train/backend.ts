/**
 * Chooses the TensorFlow.js backend that trains the models: native TensorFlow (tfjs-node) when it
 * is installed and loads, else WebAssembly, else the pure-JavaScript cpu backend. The backend
 * used is part of every training job's key and provenance: backends round differently, so a
 * model trained on one is not byte-identical to the same model trained on another.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PipelineError, unknownChoice } from '../errors.ts';

export const BACKENDS = ['tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendRequest = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** What the name does not say: SIMD for wasm, the TensorFlow version for tfjs-node. */
  detail: string;
  tfjsVersion: string;
}

const require = createRequire(import.meta.url);
let active: BackendInfo | undefined;

export function parseBackend(value: string): BackendRequest {
  if (value === 'auto' || (BACKENDS as readonly string[]).includes(value)) return value as BackendRequest;
  throw unknownChoice('backend', value, ['auto', ...BACKENDS]);
}

/** Activates the requested backend (or the fastest that loads, for 'auto') and returns it. */
export async function selectBackend(request: BackendRequest): Promise<BackendInfo> {
  if (active && (request === 'auto' || request === active.name)) return active;
  const order: BackendName[] = request === 'auto' ? [...BACKENDS] : [request];
  const failures: string[] = [];
  for (const name of order) {
    try {
      const detail = await activate(name);
      active = { name, detail, tfjsVersion: tf.version.tfjs };
      return active;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    }
  }
  throw new PipelineError(`no training backend could start (${failures.join('; ')})`, {
    exitCode: 2,
    hint: request === 'auto' ? 'reinstall dependencies with npm ci' : 'try --backend auto',
  });
}

async function activate(name: BackendName): Promise<string> {
  if (name === 'tfjs-node') {
    // Optional dependency: absent wherever its install script could not download TensorFlow.
    const specifier = '@tensorflow/tfjs-node';
    const native = (await import(specifier)) as { version: Record<string, string> };
    await setBackend('tensorflow');
    return `TensorFlow ${native.version['tfjs-node'] ?? '?'}`;
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from the installed package, never fetched.
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    await setBackend('wasm');
    return tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd' : 'no simd';
  }
  tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
  await setBackend('cpu');
  return 'pure JavaScript';
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}
