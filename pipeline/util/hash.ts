/**
 * Content hashes for cache keys and provenance. Keys hash a canonical JSON form (object keys
 * sorted), so the same spec always gives the same key whatever order its fields were written in.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level; refuses values JSON cannot hold exactly. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, '$'));
}

function sortKeys(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot hash non-finite number at ${path}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => sortKeys(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v, `${path}.${k}`)]));
  }
  throw new Error(`cannot hash a ${typeof value} at ${path}`);
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The hash of a JSON-able value, in canonical form. */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}
