/**
 * Where IDX data sets come from. A data set is read from the directory given on the command line
 * or, failing that, in its environment variable; when neither is given, from the system's copy
 * (Debian's dataset-fashion-mnist) or the project's download cache. With --download (or when the
 * environment allows it) the files are fetched from the data set's canonical location into the
 * cache and verified against their published MD5 checksums before use. When it is found nowhere,
 * the error names the data set, every place looked, and the commands that fix it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import type { Log } from '../util/log.ts';

export type IdxPart = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

export interface IdxSource {
  name: string;
  title: string;
  classNames: string[];
  /** File names as published (gzipped); an uncompressed copy without `.gz` is accepted too. */
  files: Record<IdxPart, string>;
  /** The published MD5 of each gzipped file. */
  md5: Record<IdxPart, string>;
  /** Canonical download location (a directory URL ending in /). */
  baseUrl: string;
  /** Environment variable naming a directory with the files; also overrides for the download URL. */
  envDir: string;
  envUrl: string;
  /** Where system packages install the files. */
  systemDirs: string[];
  /** The command that installs a system copy, if there is one. */
  installHint?: string;
}

const IDX_FILES: Record<IdxPart, string> = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

export const FASHION_MNIST: IdxSource = {
  name: 'fashion-mnist',
  title: 'Fashion-MNIST',
  classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  files: IDX_FILES,
  md5: {
    trainImages: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    trainLabels: '25c81989df183df01b3e8a0aad5dffbe',
    testImages: 'bef4ecab320f06d8554ea6380940ec79',
    testLabels: 'bb300cfdad3c16e7a12a480ee83cd310',
  },
  baseUrl: 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
  envDir: 'FASHION_MNIST_DIR',
  envUrl: 'FASHION_MNIST_URL',
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  installHint: 'apt-get install dataset-fashion-mnist',
};

export const MNIST_IDX: IdxSource = {
  name: 'mnist',
  title: 'MNIST',
  classNames: Array.from({ length: 10 }, (_, d) => String(d)),
  files: IDX_FILES,
  md5: {
    trainImages: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    trainLabels: 'd53e105ee54ea40749a09fcbcd1e9432',
    testImages: '9fb629c4189551a2d022fa330f9573f3',
    testLabels: 'ec29112dd5afa0611ce80d1b7f02629c',
  },
  baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
  envDir: 'MNIST_DIR',
  envUrl: 'MNIST_URL',
  systemDirs: [],
};

export interface LocatedDataset {
  dir: string;
  /** The path of each part (gzipped or not, whichever is there). */
  paths: Record<IdxPart, string>;
  /** How it was found, for the log and provenance. */
  how: string;
}

export interface LocateOptions {
  /** A directory named on the command line. */
  dir?: string;
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
}

/** The parts in `dir`, or null unless all four are there. */
export function findParts(source: IdxSource, dir: string): Record<IdxPart, string> | null {
  const paths = {} as Record<IdxPart, string>;
  for (const [part, file] of Object.entries(source.files) as [IdxPart, string][]) {
    const candidates = [join(dir, file), join(dir, file.replace(/\.gz$/, ''))];
    const found = candidates.find((p) => existsSync(p));
    if (!found) return null;
    paths[part] = found;
  }
  return paths;
}

export function downloadDir(source: IdxSource, cacheDir: string): string {
  return join(cacheDir, 'downloads', source.name);
}

/**
 * Finds the data set without downloading; throws a missing-data error that says how to fix it.
 * A directory the user names (flag, else environment variable) is the only place looked: if it
 * lacks the files, that is an error, not a reason to quietly use another copy.
 */
export function locateDataset(source: IdxSource, options: LocateOptions): LocatedDataset {
  const env = options.env ?? process.env;
  const named: [string, string] | undefined = options.dir
    ? [options.dir, `--${source.name}-dir`]
    : env[source.envDir]
      ? [env[source.envDir]!, `$${source.envDir}`]
      : undefined;
  const places: [string, string][] = named
    ? [named]
    : [...source.systemDirs.map((d) => [d, 'system copy'] as [string, string]), [downloadDir(source, options.cacheDir), 'download cache']];
  for (const [dir, how] of places) {
    const paths = findParts(source, dir);
    if (paths) return { dir, paths, how };
  }
  throw missingDataset(source, places.map(([dir, how]) => `${dir} (${how})`));
}

function missingDataset(source: IdxSource, looked: string[]): PipelineError {
  const fixes = [
    ...(source.installHint ? [source.installHint] : []),
    `npm run pipeline -- --download   (fetches ${source.baseUrl}, verified by MD5)`,
    `${source.envDir}=/path/to/idx-files npm run build`,
  ];
  return new PipelineError(`${source.title} not found; looked in ${looked.join(', ')}`, {
    exitCode: 3,
    hint: `any one of these fixes it:\n    ${fixes.join('\n    ')}`,
  });
}

/**
 * Downloads the four files into the download cache, each verified by MD5 before it is renamed
 * into place (a failed or corrupted download leaves nothing behind).
 */
export async function downloadDataset(source: IdxSource, cacheDir: string, log: Log, env: NodeJS.ProcessEnv = process.env): Promise<LocatedDataset> {
  const dir = downloadDir(source, cacheDir);
  mkdirSync(dir, { recursive: true });
  const base = env[source.envUrl] ?? source.baseUrl;
  for (const [part, file] of Object.entries(source.files) as [IdxPart, string][]) {
    const target = join(dir, file);
    if (existsSync(target) && md5(readFileSync(target)) === source.md5[part]) continue;
    const url = new URL(file, base).href;
    log.info(`downloading ${url}`);
    let bytes: Uint8Array;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw new PipelineError(`could not download ${url}: ${(error as Error).message}`, { exitCode: 3, hint: `check the network, or set ${source.envDir} to a directory with the files` });
    }
    const digest = md5(bytes);
    if (digest !== source.md5[part]) {
      throw new PipelineError(`${url} has MD5 ${digest}, expected ${source.md5[part]}; not using it`, { exitCode: 3, hint: 'the download was corrupted or the server holds another version' });
    }
    const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      writeFileSync(tmp, bytes);
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return { dir, paths: findParts(source, dir)!, how: 'downloaded' };
}

export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}
