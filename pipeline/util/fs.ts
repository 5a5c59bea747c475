/**
 * Atomic writes. The pipeline writes whole folders (cache entries, reports) into a staging
 * folder beside their target and renames them into place, so an interrupted build never leaves a
 * half-written file where a reader looks.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Replaces directory `target` by `staged` (a fully written directory on the same file system).
 * The old directory is moved aside first and removed after; a reader sees either the old or the
 * new directory, never a mix.
 */
export function replaceDirectory(staged: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const aside = join(dirname(target), `.old-${randomBytes(6).toString('hex')}`);
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

/** A fresh temporary directory name inside `parent` (created). */
export function makeStagingDirectory(parent: string, label: string): string {
  const dir = join(parent, `.staging-${label.replace(/[^a-z0-9-]/gi, '_')}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
