/**
 * Atomic writes. The pipeline writes whole folders (cache entries, reports) into a staging
 * folder beside their target and renames them into place, so an interrupted build never leaves a
 * half-written file where a reader looks.
 *
 * Every staging (and set-aside) folder is named with the process that made it, so a build sweeps
 * only what a build that is gone left behind, never the work in progress of one running beside it.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Prefixes of the temporary folders this module makes; a sweep looks at these only. */
const TEMPORARY = ['.staging-', '.old-', '.damaged-'];

/** `<prefix><label>-<pid>-<random>`: the owner's pid is what a sweep checks. */
function temporaryName(prefix: string, label: string): string {
  const safe = label.replace(/[^a-z0-9-]/gi, '_');
  return `${prefix}${safe}${label ? '-' : ''}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Replaces directory `target` by `staged` (a fully written directory on the same file system).
 * The old directory is moved aside first and removed after; a reader sees either the old or the
 * new directory, never a mix. Callers that may race on one target hold a lock (see lock.ts).
 */
export function replaceDirectory(staged: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const aside = join(dirname(target), temporaryName('.old-', ''));
  let moved = false;
  try {
    renameSync(target, aside);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  renameSync(staged, target);
  if (moved) rmSync(aside, { recursive: true, force: true });
}

/**
 * Moves `staged` to `target` unless `target` already exists, atomically (rename(2) refuses a
 * non-empty target). Returns false, leaving `staged` where it is, when another writer got there
 * first: for content-addressed entries the first complete copy is as good as ours.
 */
export function placeDirectory(staged: string, target: string): boolean {
  mkdirSync(dirname(target), { recursive: true });
  try {
    renameSync(staged, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    return false;
  }
}

/** Moves `dir` aside (atomically, so no reader sees it half removed) and removes it. */
export function removeDirectory(dir: string): void {
  const aside = join(dirname(dir), temporaryName('.damaged-', ''));
  try {
    renameSync(dir, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another build removed it first
    throw error;
  }
  rmSync(aside, { recursive: true, force: true });
}

/** A fresh temporary directory inside `parent` (created), owned by this process. */
export function makeStagingDirectory(parent: string, label: string): string {
  const dir = join(parent, temporaryName('.staging-', label));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether process `pid` is running (on this machine). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but someone else's
  }
}

/**
 * Removes the temporary folders in `parent` whose owner is no longer running (an interrupted
 * build's); those of running builds are left alone. Returns how many were removed.
 */
export function sweepTemporary(parent: string): number {
  if (!existsSync(parent)) return 0;
  let removed = 0;
  for (const name of readdirSync(parent)) {
    // Only names this module makes (prefix … -<pid>-<12 hex>): a folder of the user's is never touched.
    const owner = /-(\d+)-[0-9a-f]{12}$/.exec(name);
    if (!owner || !TEMPORARY.some((prefix) => name.startsWith(prefix))) continue;
    if (processAlive(Number(owner[1]))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** A file-system error in words, naming its path when the error has one. */
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    ENOENT: 'no such file or directory',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EDQUOT: 'disk quota exceeded',
  };
  const what = (e.code && Object.hasOwn(words, e.code) ? words[e.code] : undefined) ?? e.message;
  return e.path ? `${what}: ${e.path}` : what;
}
