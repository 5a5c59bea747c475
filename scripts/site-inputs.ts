/**
 * What a site build reads, as one hash: every file of the site's sources, the narratives, the
 * pipeline's output and the pipeline modules the site imports, the configuration, the lock file,
 * and the environment that changes what Astro writes. A build whose inputs hash to what the last
 * build's did would write the same site, so `npm run site` skips it (and says so).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** Environment variables that change the built site. */
export const SITE_ENV = [
  'BASE_PATH',
  'SITE_URL',
  'PUBLISH',
  'REPORTS_DIR',
  'CONTENT_DIR',
  'SITE_OUT',
  'URL_CONTRACT',
  'URL_CONTRACT_FILE',
] as const;

/** Files and folders of the repository the site reads (besides REPORTS_DIR and CONTENT_DIR). */
const SOURCES = [
  'site',
  'pipeline',
  'examples',
  'astro.config.mjs',
  'tsconfig.json',
  'package-lock.json',
  'scripts/build-site.ts',
];

/** Every file under `path` (or `path` itself), in a fixed order. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/** The hash of a site build's inputs, from the repository at `root` and the environment `env`. */
export function siteInputsHash(root: string, env: Record<string, string | undefined>): string {
  const hash = createHash('sha256');
  const reports = resolve(root, env['REPORTS_DIR'] ?? 'reports');
  const content = resolve(root, env['CONTENT_DIR'] ?? 'content');
  for (const name of SITE_ENV) hash.update(`env ${name}=${env[name] ?? ''}\n`);
  hash.update(`node ${process.version}\n`);
  // a URL contract named outside site/ is read too
  const contract = env['URL_CONTRACT_FILE'] ? [resolve(root, env['URL_CONTRACT_FILE'])] : [];
  for (const top of [...SOURCES.map((s) => resolve(root, s)), content, reports, ...contract])
    for (const file of filesUnder(top)) {
      hash.update(`file ${relative(root, file)} ${statSync(file).size}\n`);
      hash.update(readFileSync(file));
    }
  return hash.digest('hex');
}

/** The output's shape: every file's path and size (stat only), to notice a damaged or edited site. */
export function outputShape(out: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(out)) hash.update(`${relative(out, file)} ${statSync(file).size}\n`);
  return hash.digest('hex');
}

/** What a finished build records beside its output. */
export interface SiteStamp {
  inputs: string;
  output: string;
}

/** Whether the site at `out` is the one these inputs would build (its stamp matches, its files are whole). */
export function upToDate(stamp: SiteStamp | undefined, inputs: string, out: string): boolean {
  return (
    stamp !== undefined && stamp.inputs === inputs && existsSync(out) && stamp.output === outputShape(out)
  );
}

/** Writes the stamp whole (a temporary file renamed into place): a killed build leaves no half stamp. */
export function writeStamp(file: string, stamp: SiteStamp): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(stamp)}\n`);
  renameSync(tmp, file);
}
