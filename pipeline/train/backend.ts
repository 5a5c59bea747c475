/**
 * Chooses how models are trained, fastest first:
 * 1) tfjs-node: native TensorFlow, when its optional install succeeded;
 * 2) native: the wasm backend with matrix products and the AdamW update done by our OpenBLAS
 *    addon (native/), when it was built;
 * 3) wasm: stock WebAssembly kernels (SIMD);
 * 4) cpu: pure JavaScript.
 * The path used is part of every training job's key and provenance: paths round differently, so a
 * model trained on one is not byte-identical to the same model trained on another.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PipelineError, unknownChoice } from '../errors.ts';
import { describeBlas, loadNative, nativeUnavailableReason } from '../native/addon.ts';
import { useNativeMatMul } from '../native/kernels.ts';

export const BACKENDS = ['tfjs-node', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendRequest = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** What the name does not say: SIMD for wasm, the TensorFlow version for tfjs-node. */
  detail: string;
  tfjsVersion: string;
}

/** The packages the 'tfjs-node' path loads, in order, with the device each runs on. */
export const TENSORFLOW_PACKAGES = [
  ['@tensorflow/tfjs-node-gpu', 'GPU'],
  ['@tensorflow/tfjs-node', 'CPU'],
] as const;

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
      failures.push(`${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new PipelineError(`no training backend could start (${failures.join('; ')})`, {
    exitCode: 2,
    hint: request === 'auto' ? 'reinstall dependencies with npm ci' : 'try --backend auto',
  });
}

async function activate(name: BackendName): Promise<string> {
  if (name === 'tfjs-node') {
    // Optional dependencies, absent wherever their install scripts could not download TensorFlow:
    // the GPU build (CUDA) first, when a user installed it, then the CPU build. Both register the
    // 'tensorflow' backend.
    const tried: string[] = [];
    for (const [specifier, device] of TENSORFLOW_PACKAGES) {
      try {
        const native = (await import(specifier)) as { version: Record<string, string> };
        await setBackend('tensorflow');
        return `TensorFlow ${native.version['tfjs-node'] ?? '?'} (${device})`;
      } catch (error) {
        tried.push(`${specifier}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
    throw new Error(`neither TensorFlow package loads (${tried.join('; ')})`);
  }
  if (name === 'native') {
    const addon = loadNative();
    if (!addon) throw new Error(nativeUnavailableReason());
    await activateWasm();
    useNativeMatMul(addon);
    return `${describeBlas(addon.info())} matmul and AdamW on wasm`;
  }
  if (name === 'wasm') {
    await activateWasm();
    useNativeMatMul(null);
    return tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd' : 'no simd';
  }
  // silences the cpu backend's "install tfjs-node" banner (PROD only mutes warnings)
  tf.env().set('PROD', true);
  await setBackend('cpu');
  return 'pure JavaScript';
}

let wasmPathsSet = false;

async function activateWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // In Node the .wasm binaries are read from the installed package, never fetched.
    wasm.setWasmPaths(
      join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/',
    );
    wasmPathsSet = true;
  }
  await setBackend('wasm');
}

/** True when the active path is wasm with native kernels (the fused AdamW update applies). */
export function nativeActive(): boolean {
  return active?.name === 'native';
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}
