/**
 * Builds the site: `astro build` into a staging folder beside the output, swapped in only when
 * the build succeeds, so a build that fails (a missing data file, a broken narrative) leaves the
 * previous site whole instead of an emptied dist/.
 *
 *   npm run site                      # into dist/
 *   SITE_OUT=dir npm run site         # into dir/ (REPORTS_DIR, CONTENT_DIR, BASE_PATH as for astro)
 */
import { spawnSync } from 'node:child_process';
import { basename, dirname, join, relative, resolve } from 'node:path';
import {
  makeStagingDirectory,
  removeDirectory,
  replaceDirectory,
  sweepTemporary,
} from '../pipeline/util/fs.ts';

const out = resolve(process.env.SITE_OUT ?? 'dist');
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
  process.stderr.write(`site build failed; ${relative(process.cwd(), out) || out}/ was left as it was\n`);
  process.exit(build.status ?? 1);
}
replaceDirectory(staging, out);
process.stderr.write(`site written to ${relative(process.cwd(), out) || out}/\n`);
