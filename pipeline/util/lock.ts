/**
 * An exclusive lock on a folder, across processes: the build that writes reports/ holds it, so
 * two builds started on one output folder take turns instead of replacing each other's reports
 * mid-write. The lock is a file created with O_EXCL naming its owner (pid, host, a random token);
 * a lock whose owner is no longer running (a build that was killed) is taken over.
 */
import { hostname } from 'node:os';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { processAlive } from './fs.ts';

interface Owner {
  pid: number;
  host: string;
  token: string;
  started: string;
}

export interface Lock {
  release(): void;
}

const LOCK_FILE = '.build.lock';
const POLL_MS = 200;

/**
 * Takes the lock on `dir` (created if missing), waiting while another running build holds it;
 * `onWait` is told once whom it waits for.
 */
export async function lockDirectory(dir: string, onWait: (owner: string) => void): Promise<Lock> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), started: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  let told = false;
  for (;;) {
    try {
      writeFileSync(path, text, { flag: 'wx' });
      const release = () => releaseLock(path, text);
      process.once('exit', release); // also when the build is stopped with Ctrl-C (cli.ts exits on SIGINT)
      return {
        release: () => {
          process.removeListener('exit', release);
          release();
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = readOwner(path);
    if (held && isStale(held.owner)) {
      takeOver(path, held.text);
      continue;
    }
    if (held && !told) {
      onWait(`pid ${held.owner?.pid ?? '?'} on ${held.owner?.host ?? '?'}, since ${held.owner?.started ?? '?'}`);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function readOwner(path: string): { text: string; owner: Owner | null } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // released between our attempt and this read: try again
  }
  try {
    return { text, owner: JSON.parse(text) as Owner };
  } catch {
    return { text, owner: null }; // being written, or garbage: judged by the next read
  }
}

/** A lock is stale when its owner ran on this machine and is gone (another host's is never judged). */
function isStale(owner: Owner | null): boolean {
  return owner !== null && owner.host === hostname() && !processAlive(owner.pid);
}

/**
 * Removes the stale lock whose contents were `seen`: it is renamed aside first and compared, so
 * a lock taken by a third build in the meantime is put back instead of removed.
 */
function takeOver(path: string, seen: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else took it over first
  }
  if (readFileSync(aside, 'utf8') !== seen) {
    try {
      linkSync(aside, path);
    } catch {
      // a newer lock is already in place; ours to drop
    }
  }
  unlinkSync(aside);
}

function releaseLock(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) unlinkSync(path);
  } catch {
    // already gone
  }
}
