/**
 * The content-addressed job cache under .cache/. An entry is a directory named by the job's key:
 *
 *   .cache/<stage>/<key>/entry.json          what made it (stage, label, inputs' keys, timings)
 *                        meta.json           Artifact.meta
 *                        tensors.safetensors Artifact.tensors
 *                        files/<name>        Artifact.files
 *
 * An entry is written in a staging directory and renamed into place whole, so an interrupted
 * build leaves no partial entry: only a staging directory, which the next run removes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../tensors/safetensors.ts';
import { makeStagingDirectory, replaceDirectory } from '../util/fs.ts';
import type { Artifact, Json } from './artifact.ts';

export interface EntryInfo {
  stage: string;
  /** The job kind that made it (job.ts); read back as the artifact's `kind`. */
  kind: string;
  label: string;
  key: string;
  seconds: number;
  inputs: Json;
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

  read(stage: string, key: string): Artifact {
    const dir = this.entryDir(stage, key);
    const info = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as EntryInfo;
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as unknown;
    const tensorPath = join(dir, 'tensors.safetensors');
    const tensors = existsSync(tensorPath) ? decodeSafetensors(readFileSync(tensorPath), tensorPath).tensors : {};
    const files: Record<string, Uint8Array> = {};
    const filesDir = join(dir, 'files');
    if (existsSync(filesDir)) {
      for (const name of readdirSync(filesDir).sort()) files[name] = readFileSync(join(filesDir, name));
    }
    return { kind: info.kind, meta, tensors, files };
  }

  /** Stores an artifact under its key; the entry appears whole or not at all. */
  write(info: EntryInfo, value: Artifact): void {
    mkdirSync(this.root, { recursive: true });
    const staging = makeStagingDirectory(this.root, `${info.stage}-${info.key.slice(0, 12)}`);
    try {
      writeFileSync(join(staging, 'meta.json'), `${JSON.stringify(value.meta, null, 2)}\n`);
      if (Object.keys(value.tensors).length > 0) {
        writeFileSync(join(staging, 'tensors.safetensors'), encodeSafetensors(value.tensors));
      }
      const names = Object.keys(value.files);
      if (names.length > 0) mkdirSync(join(staging, 'files'));
      for (const name of names) writeFileSync(join(staging, 'files', name), value.files[name]!);
      // entry.json last: its presence is what marks an entry complete.
      writeFileSync(join(staging, 'entry.json'), `${JSON.stringify(info, null, 2)}\n`);
      replaceDirectory(staging, this.entryDir(info.stage, info.key));
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes staging directories left by interrupted runs; returns how many there were. */
  sweepStaging(): number {
    if (!existsSync(this.root)) return 0;
    const leftovers = readdirSync(this.root).filter((name) => name.startsWith('.staging-'));
    for (const name of leftovers) rmSync(join(this.root, name), { recursive: true, force: true });
    return leftovers.length;
  }

  /** Size in bytes of one entry (for the job's status line). */
  sizeOf(stage: string, key: string): number {
    const walk = (path: string): number =>
      statSync(path).isDirectory()
        ? readdirSync(path).reduce((sum, name) => sum + walk(join(path, name)), 0)
        : statSync(path).size;
    return walk(this.entryDir(stage, key));
  }
}
