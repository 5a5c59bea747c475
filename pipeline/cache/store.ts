/**
 * The content-addressed job cache under .cache/. An entry is a directory named by the job's key:
 *
 *   .cache/<stage>/<key>/entry.json          what made it (stage, label, inputs' keys, timings)
 *                                            and the size and SHA-256 of each file below
 *                        meta.json           Artifact.meta
 *                        tensors.safetensors Artifact.tensors
 *                        files/<name>        Artifact.files
 *
 * An entry is written in a staging directory and renamed into place whole, so an interrupted
 * build leaves no partial entry: only a staging directory, which a later run removes once the
 * build that made it is gone. Reading verifies every file against entry.json; an entry that does
 * not match is damaged (DamagedEntryError) and is never returned.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PipelineError } from '../errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../tensors/safetensors.ts';
import {
  describeFsError,
  makeStagingDirectory,
  placeDirectory,
  removeDirectory,
  replaceDirectory,
  sweepTemporary,
} from '../util/fs.ts';
import { sha256 } from '../util/hash.ts';
import type { Artifact, Json } from './artifact.ts';

export interface FileRecord {
  bytes: number;
  sha256: string;
}

export interface EntryInfo {
  stage: string;
  /** The job kind that made it (job.ts); read back as the artifact's `kind`. */
  kind: string;
  label: string;
  key: string;
  seconds: number;
  inputs: Json;
}

interface StoredEntry extends EntryInfo {
  /** Every file of the entry besides entry.json, by path inside the entry. */
  files: Record<string, FileRecord>;
}

const META = 'meta.json';
const TENSORS = 'tensors.safetensors';
const FILES = 'files';

/** An entry whose files do not match its entry.json (or that cannot be read): to be removed and rebuilt. */
export class DamagedEntryError extends PipelineError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`damaged cache entry: ${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

export class CacheStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  private entryDir(stage: string, key: string): string {
    return join(this.root, stage, key);
  }

  has(stage: string, key: string): boolean {
    return existsSync(join(this.entryDir(stage, key), 'entry.json'));
  }

  /** The seconds the entry's job took to build (its entry.json), or null without an entry. */
  seconds(stage: string, key: string): number | null {
    return this.has(stage, key) ? this.readInfo(this.entryDir(stage, key), stage, key).seconds : null;
  }

  /**
   * The artifact, after checking every file's size and SHA-256 (and, given `kind`, that the entry
   * was made by that job kind: the key hashes it); DamagedEntryError when anything differs.
   */
  read(stage: string, key: string, kind?: string): Artifact {
    return this.readEntry(stage, key, kind).value;
  }

  /** read(), with the entry's size in bytes (for the job's status line). */
  readEntry(stage: string, key: string, kind?: string): { value: Artifact; bytes: number } {
    const dir = this.entryDir(stage, key);
    const info = this.readInfo(dir, stage, key);
    if (kind !== undefined && info.kind !== kind)
      throw this.damaged(dir, 'entry.json', `names the job kind '${info.kind}', not '${kind}'`);
    const bytes: Record<string, Buffer> = {};
    for (const [path, record] of Object.entries(info.files))
      bytes[path] = this.readVerified(dir, path, record);
    const metaBytes = bytes[META];
    if (!metaBytes) throw this.damaged(dir, 'entry.json', `lists no ${META}`);
    const meta = this.parse(dir, META, metaBytes);
    const tensors = bytes[TENSORS] ? decodeSafetensors(bytes[TENSORS], join(dir, TENSORS)).tensors : {};
    const files: Record<string, Uint8Array> = {};
    for (const path of Object.keys(bytes).sort())
      if (path.startsWith(`${FILES}/`)) files[path.slice(FILES.length + 1)] = bytes[path]!;
    const size = Object.values(bytes).reduce((sum, b) => sum + b.length, 0);
    return { value: { kind: info.kind, meta, tensors, files }, bytes: size };
  }

  /**
   * Stores an artifact under its key; the entry appears whole or not at all. When another build
   * stored the same key first, its entry is kept (the key names the content) and ours dropped.
   */
  write(info: EntryInfo, value: Artifact): void {
    mkdirSync(this.root, { recursive: true });
    const staging = makeStagingDirectory(this.root, `${info.stage}-${info.key.slice(0, 12)}`);
    try {
      const files: Record<string, FileRecord> = {};
      const put = (path: string, data: Uint8Array) => {
        writeFileSync(join(staging, path), data);
        files[path] = { bytes: data.length, sha256: sha256(data) };
      };
      put(META, Buffer.from(`${JSON.stringify(value.meta, null, 2)}\n`));
      if (Object.keys(value.tensors).length > 0) put(TENSORS, encodeSafetensors(value.tensors));
      const names = Object.keys(value.files).sort();
      if (names.length > 0) mkdirSync(join(staging, FILES));
      for (const name of names) put(`${FILES}/${name}`, value.files[name]!);
      // entry.json last: its presence is what marks an entry complete.
      const stored: StoredEntry = { ...info, files };
      writeFileSync(join(staging, 'entry.json'), `${JSON.stringify(stored, null, 2)}\n`);
      const target = this.entryDir(info.stage, info.key);
      if (placeDirectory(staging, target)) return;
      // Another build stored this key first: keep its entry when it verifies, else put ours in its place.
      if (this.verifies(info.stage, info.key)) removeDirectory(staging);
      else if (!this.replaceDamaged(staging, target)) removeDirectory(staging);
    } catch (error) {
      removeDirectory(staging);
      if (error instanceof PipelineError) throw error;
      const full = ['ENOSPC', 'EDQUOT'].includes((error as NodeJS.ErrnoException).code ?? '');
      throw new PipelineError(
        `cannot store ${info.stage} ${info.label} in the cache ${this.root}: ${describeFsError(error)}`,
        {
          cause: error,
          hint: full
            ? 'free space there, or give --cache another directory'
            : 'give --cache a directory you can write',
        },
      );
    }
  }

  /** Removes an entry (a damaged one, before it is rebuilt). */
  remove(stage: string, key: string): void {
    removeDirectory(this.entryDir(stage, key));
  }

  /** Removes staging folders left by builds that are no longer running; returns how many there were. */
  sweepStaging(): number {
    if (!existsSync(this.root)) return 0;
    return (
      sweepTemporary(this.root) +
      readdirSync(this.root)
        .filter((stage) => !stage.startsWith('.') && statSync(join(this.root, stage)).isDirectory())
        .reduce((n, stage) => n + sweepTemporary(join(this.root, stage)), 0)
    );
  }

  /**
   * Puts `staging` in place of a damaged entry; false when another build replaced it first (its
   * rename leaves the target non-empty), whose entry then stands.
   */
  private replaceDamaged(staging: string, target: string): boolean {
    try {
      replaceDirectory(staging, target);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw error;
    }
  }

  /** Whether the entry reads back whole (another build's, found in place of ours). */
  private verifies(stage: string, key: string): boolean {
    try {
      this.read(stage, key);
      return true;
    } catch (error) {
      if (error instanceof DamagedEntryError) return false;
      throw error;
    }
  }

  private readInfo(dir: string, stage: string, key: string): StoredEntry {
    let text: string;
    try {
      text = readFileSync(join(dir, 'entry.json'), 'utf8');
    } catch (error) {
      throw this.damaged(dir, 'entry.json', describeFsError(error));
    }
    const info = this.parse(dir, 'entry.json', Buffer.from(text)) as Partial<StoredEntry> | null;
    if (!info || typeof info !== 'object' || !info.files || typeof info.files !== 'object')
      throw this.damaged(dir, 'entry.json', 'has no file list');
    if (info.stage !== stage || info.key !== key)
      throw this.damaged(dir, 'entry.json', `names ${info.stage}/${info.key}, not this entry`);
    const stray = Object.keys(info.files).find(
      (path) => path !== META && path !== TENSORS && !/^files\/[^/]+$/.test(path),
    );
    if (stray !== undefined)
      throw this.damaged(dir, 'entry.json', `lists '${stray}', which is no file of an entry`);
    for (const [path, record] of Object.entries(info.files)) {
      const r = record as Partial<FileRecord> | null;
      if (
        !r ||
        !Number.isInteger(r.bytes) ||
        typeof r.sha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(r.sha256)
      )
        throw this.damaged(dir, 'entry.json', `records no size and SHA-256 for ${path}`);
    }
    return info as StoredEntry;
  }

  private readVerified(dir: string, path: string, record: FileRecord): Buffer {
    let data: Buffer;
    try {
      data = readFileSync(join(dir, path));
    } catch (error) {
      throw this.damaged(
        dir,
        path,
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : describeFsError(error),
      );
    }
    if (data.length !== record.bytes)
      throw this.damaged(dir, path, `${data.length} bytes, entry.json records ${record.bytes}`);
    if (sha256(data) !== record.sha256)
      throw this.damaged(dir, path, 'contents differ from the SHA-256 in entry.json');
    return data;
  }

  private parse(dir: string, path: string, data: Buffer): unknown {
    try {
      return JSON.parse(data.toString('utf8'));
    } catch (error) {
      throw this.damaged(dir, path, `not valid JSON (${(error as Error).message})`);
    }
  }

  private damaged(dir: string, path: string, reason: string): DamagedEntryError {
    return new DamagedEntryError(relative(process.cwd(), join(dir, path)) || join(dir, path), reason);
  }
}
