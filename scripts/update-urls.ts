/**
 * Updates the committed list of published URLs (site/published-urls.json) from a default build:
 * adds every report and figure page the build publishes, keeps every URL already listed (a
 * published URL is never dropped), and refuses when a listed URL is gone without a "moved" entry.
 *
 *   npm run urls:update                          # from reports/ (after npm run build)
 *   npm run urls:update -- --reports DIR         # from another default build's reports folder
 *   npm run urls:update -- --check               # only check; exit 1 if the list is not up to date
 */
import { writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkContract,
  contractError,
  CONTRACT_FILE,
  publishedPaths,
  readContract,
  reportProfiles,
  updateContract,
} from '../site/lib/url-contract.ts';

const { values } = parseArgs({
  options: { reports: { type: 'string', default: 'reports' }, check: { type: 'boolean', default: false } },
});
const reportsDir = resolve(values.reports);

function fail(message: string): never {
  process.stderr.write(`urls: ${message}\n`);
  process.exit(1);
}

const profiles = reportProfiles(reportsDir);
if (profiles.length === 0)
  fail(
    `no reports in ${reportsDir}; run the default build first (npm run build), or name a folder with --reports`,
  );
if (profiles.includes('smoke'))
  fail(
    `${reportsDir} holds a smoke build; the list records the published site: use a default build's reports`,
  );

const contract = readContract();
const published = publishedPaths(reportsDir);
const error = contractError(checkContract(contract, published), '/');
if (error) fail(error);
const updated = updateContract(contract, published);
const added = updated.urls.filter((u) => !contract.urls.includes(u));
if (values.check) {
  if (added.length > 0)
    fail(
      `${added.length} published URL(s) are not listed yet (run npm run urls:update):\n${added.map((u) => `  /${u}`).join('\n')}`,
    );
  process.stdout.write(`urls: all ${published.length} published URLs are listed\n`);
  process.exit(0);
}
const temp = `${CONTRACT_FILE}.tmp`;
writeFileSync(temp, `${JSON.stringify(updated, null, 2)}\n`);
renameSync(temp, CONTRACT_FILE);
process.stdout.write(
  `urls: ${added.length} added, ${updated.urls.length} listed, ${Object.keys(updated.moved).length} moved (${CONTRACT_FILE})\n`,
);
