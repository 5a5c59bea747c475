/**
 * Builds the site: `astro build` into a staging folder beside the output, swapped in only when
 * the build succeeds, so a build that fails (a missing data file, a broken narrative) leaves the
 * previous site whole instead of an emptied dist/.
 *
 *   npm run site                      # into dist/
 *   SITE_OUT=dir npm run site         # into dir/ (REPORTS_DIR, CONTENT_DIR, BASE_PATH as for astro)
 *   SITE_FORCE=1 npm run site         # build even when nothing it reads has changed
 *
 * A build whose inputs (scripts/site-inputs.ts) are those of the site already there, and whose
 * files are still whole, is skipped: a warm rebuild with nothing changed does not spend Astro's
 * ten seconds writing the same bytes. The stamp is a hidden file beside the output.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { outputShape, siteInputsHash, upToDate, writeStamp, type SiteStamp } from './site-inputs.ts';
import {
  makeStagingDirectory,
  removeDirectory,
  replaceDirectory,
  sweepTemporary,
} from '../pipeline/util/fs.ts';

const out = resolve(process.env.SITE_OUT ?? 'dist');
const shown = relative(process.cwd(), out) || out;
const stampFile = join(dirname(out), `.${basename(out)}.site-inputs`);
const inputs = siteInputsHash(resolve(import.meta.dirname, '..'), process.env);
const readStamp = (): SiteStamp | undefined => {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8')) as SiteStamp;
  } catch {
    return undefined;
  }
};
if (!process.env.SITE_FORCE && upToDate(readStamp(), inputs, out)) {
  process.stderr.write(
    `site unchanged: nothing it reads has changed since ${shown}/ was built (inputs ${inputs.slice(0, 12)}); ` +
      'skipped (SITE_FORCE=1 builds it anyway)\n',
  );
  process.exit(0);
}
// astro's package exports no bin path; its CLI is at a fixed place in node_modules.
const astro = join(import.meta.dirname, '..', 'node_modules', 'astro', 'bin', 'astro.mjs');
sweepTemporary(dirname(out)); // staging folders of site builds that were killed
const staging = makeStagingDirectory(dirname(out), basename(out));
const build = spawnSync(process.execPath, [astro, 'build'], {
  stdio: 'inherit',
  env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', SITE_OUT: staging },
});
if (build.status !== 0) {
  removeDirectory(staging);
  process.stderr.write(`site build failed; ${shown}/ was left as it was\n`);
  process.exit(build.status ?? 1);
}
replaceDirectory(staging, out);
writeStamp(stampFile, { inputs, output: outputShape(out) });
process.stderr.write(`site written to ${shown}/\n`);
