/**
 * Values computed from a file's bytes (its SHA-256, its MD5, the MD5 of its gunzipped content),
 * remembered for this process by path, size and modification time: several reports plan with the
 * same 55 MB of IDX files, and a rebuild should read and hash them once, not per plan. A file
 * rewritten in place keeps its memo only if its size and mtime are unchanged too.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const memo = new Map<string, unknown>();

/** `compute(bytes)` for the file at `path`, once per kind, path, size and mtime in this process. */
export function memoisedByFile<T>(kind: string, path: string, compute: (bytes: Buffer) => T): T {
  const { size, mtimeMs } = statSync(path);
  const id = `${kind}\0${path}\0${size}\0${mtimeMs}`;
  if (memo.has(id)) return memo.get(id) as T;
  const value = compute(readFileSync(path));
  memo.set(id, value);
  return value;
}

/**
 * A file's SHA-256 (its identity in cache keys) and MD5 (what data sets publish), from one read,
 * and whether it is gzipped (by its first two bytes); memoised as above.
 */
export function fileDigests(path: string): { sha256: string; md5: string; gzipped: boolean } {
  return memoisedByFile('digests', path, (bytes) => ({
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
    gzipped: bytes[0] === 0x1f && bytes[1] === 0x8b,
  }));
}

/** SHA-256 of a file (hex), memoised as above. */
export function fileFingerprint(path: string): string {
  return fileDigests(path).sha256;
}
