/**
 * What every job produces: small JSON metadata, named arrays, and named files. One shape for all
 * stages keeps the cache, the emitter and the tests free of per-stage formats; the metadata's
 * type is the job's own (`Artifact<ModelMeta>`), declared where the job is defined.
 */
import type { NamedTensor } from '../tensors/safetensors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * T when it is plain JSON data, never otherwise: what `asJson` accepts. Functions and typed arrays
 * (which JSON.stringify would write as `{"0": …}`) are refused; optional fields are allowed.
 */
export type JsonData<T> = T extends string | number | boolean | null
  ? T
  : T extends (...args: never[]) => unknown
    ? never
    : T extends ArrayBufferView
      ? never
      : T extends readonly (infer U)[]
        ? readonly JsonData<U>[]
        : T extends object
          ? { [K in keyof T]: JsonData<T[K]> }
          : never;

/**
 * Plain data typed by an interface, as Json. An interface has no index signature, so TypeScript
 * does not see its objects as Json even when they are plain data; JsonData checks that they are.
 */
export function asJson<T>(value: T & JsonData<T>): Json {
  return value as unknown as Json;
}

export interface Artifact<M = unknown> {
  /** The name of the job kind that made it (set by the runner; see job.ts). */
  kind?: string;
  /** Metrics, settings and provenance; must be JSON (no NaN, no Infinity). */
  meta: M;
  /** Arrays: weights, eigenvalues, eigenvectors. Stored as one safetensors file. */
  tensors: Record<string, NamedTensor>;
  /** Rendered outputs by file name: SVG, PNG, CSV, JSON. */
  files: Record<string, Uint8Array>;
}

export function artifact<M>(parts: {
  meta: M;
  tensors?: Record<string, NamedTensor>;
  files?: Record<string, Uint8Array>;
}): Artifact<M> {
  return { meta: parts.meta, tensors: parts.tensors ?? {}, files: parts.files ?? {} };
}

/** The tensor `name` of an artifact, or an error that says which job lacks it. */
export function requireTensor(a: Artifact, name: string, owner: string): NamedTensor {
  const t = a.tensors[name];
  if (!t)
    throw new Error(`${owner} has no tensor '${name}' (has: ${Object.keys(a.tensors).join(', ') || 'none'})`);
  return t;
}
