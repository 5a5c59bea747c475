/**
 * An exclusive lock on a folder, across processes: the build that writes reports/ holds it, so
 * two builds started on one output folder take turns instead of replacing each other's reports
 * mid-write. The lock is a file naming its owner (pid, host, a random token), put in place whole
 * with link(2), which fails when the file exists: at most one build creates it. A lock whose owner
 * is no longer running (a build that was killed) is taken over; takeovers go one at a time through
 * a guard file, and remove the lock only if it is still the stale one they judged.
 */
import { hostname } from 'node:os';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * A guard (or an unreadable lock) this old was left by a process killed mid-way: a takeover takes
 * microseconds.
 */
const STALE_GUARD_MS = 10_000;

/**
 * Takes the lock on `dir` (created if missing), waiting while another running build holds it;
 * `onWait` is told once whom it waits for.
 */
export async function lockDirectory(dir: string, onWait: (owner: string) => void): Promise<Lock> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(8).toString('hex'),
    started: new Date().toISOString(),
  };
  const text = `${JSON.stringify(me)}\n`;
  let told = false;
  for (;;) {
    if (create(path, text)) {
      const release = () => releaseLock(path, text);
      process.once('exit', release); // also when the build is stopped with Ctrl-C (cli.ts exits on SIGINT)
      return {
        release: () => {
          process.removeListener('exit', release);
          release();
        },
      };
    }
    const held = readLock(path);
    if (held && isStale(held, path)) {
      takeOver(path, held.text);
      continue;
    }
    if (held?.owner && !told) {
      onWait(`pid ${held.owner.pid} on ${held.owner.host}, since ${held.owner.started}`);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Creates `path` holding `text`, whole, unless it exists (written aside, then linked into place). */
function create(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(temp);
  }
}

function readLock(path: string): { text: string; owner: Owner | null } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // released between our attempt and this read: try again
  }
  try {
    return { text, owner: JSON.parse(text) as Owner };
  } catch {
    return { text, owner: null };
  }
}

/**
 * Stale: its owner ran on this machine and is gone (another host's is never judged), or it cannot
 * be read and is older than a takeover could take (not written by this code, or damaged).
 */
function isStale(held: { owner: Owner | null }, path: string): boolean {
  if (held.owner) return held.owner.host === hostname() && !processAlive(held.owner.pid);
  return olderThan(path, STALE_GUARD_MS);
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Removes the stale lock whose contents were `seen`, under the takeover guard; another build's newer lock is
 * never touched.
 */
function takeOver(path: string, seen: string): void {
  const guard = `${path}.takeover`;
  if (olderThan(guard, STALE_GUARD_MS)) unlinkQuietly(guard); // left by a build killed mid-takeover
  if (!create(guard, `${process.pid}\n`)) return; // another build is taking over: wait and look again
  try {
    if (readLock(path)?.text === seen) unlinkQuietly(path);
  } finally {
    unlinkQuietly(guard);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function releaseLock(path: string, text: string): void {
  if (readLock(path)?.text === text) unlinkQuietly(path);
}
