/**
 * What every job produces: small JSON metadata, named arrays, and named files. One shape for all
 * stages keeps the cache, the emitter and the tests free of per-stage formats.
 */
import type { NamedTensor } from '../emit/safetensors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Artifact {
  /** Metrics, settings and provenance; must be JSON (no NaN, no Infinity). */
  meta: { [key: string]: Json };
  /** Arrays: weights, eigenvalues, eigenvectors. Stored as one safetensors file. */
  tensors: Record<string, NamedTensor>;
  /** Rendered outputs by file name: SVG, PNG, CSV, JSON. */
  files: Record<string, Uint8Array>;
}

export function artifact(parts: Partial<Artifact>): Artifact {
  return { meta: parts.meta ?? {}, tensors: parts.tensors ?? {}, files: parts.files ?? {} };
}

/** The tensor `name` of an artifact, or an error that says which job lacks it. */
export function requireTensor(a: Artifact, name: string, owner: string): NamedTensor {
  const t = a.tensors[name];
  if (!t) throw new Error(`${owner} has no tensor '${name}' (has: ${Object.keys(a.tensors).join(', ') || 'none'})`);
  return t;
}
