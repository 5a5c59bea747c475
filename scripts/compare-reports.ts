/**
 * Checks that a refactor left the published output alone: compares two `reports/` folders (say,
 * a smoke build kept before the change and one made after it) file by file.
 *
 *   node scripts/compare-reports.ts <before> <after>    # exit 0 when they agree, 1 otherwise
 *
 * Every file must be byte-identical, except:
 * - `meta.json` and `report.json` may differ in their provenance hashes: the code version of each
 *   stage (`codeVersion`, a hash of the source, which any edit changes by design) and the
 *   configuration hashes of the figure and its models (`configHash`, their cache keys, which hash
 *   the code version in);
 * - `timings.json` (what each job took) is not compared: it differs between any two builds.
 * A file present on one side only is a difference.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Files whose content records the build, not the result. */
const NOT_COMPARED = new Set(['timings.json']);
/** JSON files whose provenance hashes may differ. */
const WITH_PROVENANCE = new Set(['meta.json', 'report.json']);

export interface Difference {
  /** Path relative to the compared folders. */
  file: string;
  /** What differs, in a few words. */
  what: string;
}

/** Every difference between the two report folders, sorted by path. */
export function compareReports(before: string, after: string): Difference[] {
  const left = new Set(filesUnder(before));
  const right = new Set(filesUnder(after));
  const differences: Difference[] = [];
  for (const file of [...new Set([...left, ...right])].sort()) {
    if (!right.has(file)) differences.push({ file, what: `only in ${before}` });
    else if (!left.has(file)) differences.push({ file, what: `only in ${after}` });
    else {
      const what = compareFile(join(before, file), join(after, file));
      if (what) differences.push({ file, what });
    }
  }
  return differences;
}

/** Why two files of the same path differ, or undefined when they agree. */
function compareFile(a: string, b: string): string | undefined {
  const name = a.slice(a.lastIndexOf('/') + 1);
  if (NOT_COMPARED.has(name)) return undefined;
  const bytesA = readFileSync(a);
  const bytesB = readFileSync(b);
  if (bytesA.equals(bytesB)) return undefined;
  if (!WITH_PROVENANCE.has(name)) return `bytes differ (${bytesA.length} and ${bytesB.length} bytes)`;
  const [jsonA, jsonB] = [withoutCodeHashes(bytesA), withoutCodeHashes(bytesB)];
  return jsonA === jsonB ? undefined : `differs beyond code hashes: ${firstDifference(jsonA, jsonB)}`;
}

/** Keys whose values hash the code, wherever they appear in provenance JSON. */
const CODE_HASHES = new Set(['codeVersion', 'configHash']);

/** The JSON text without the values of CODE_HASHES keys. */
function withoutCodeHashes(bytes: Buffer): string {
  const json: unknown = JSON.parse(bytes.toString('utf8'));
  return JSON.stringify(json, (key, value: unknown) => (CODE_HASHES.has(key) ? undefined : value));
}

/** A short excerpt around the first character where two texts differ. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const excerpt = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 40), i + 40));
  return `${excerpt(a)} against ${excerpt(b)}`;
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

if (import.meta.main) {
  const [before, after] = process.argv.slice(2);
  if (!before || !after) {
    console.error('usage: node scripts/compare-reports.ts <before-reports> <after-reports>');
    process.exit(2);
  }
  const differences = compareReports(before, after);
  for (const d of differences) console.log(`${d.file}: ${d.what}`);
  const count = filesUnder(before).length;
  console.log(differences.length === 0 ? `same: ${count} files agree` : `${differences.length} files differ`);
  process.exit(differences.length === 0 ? 0 : 1);
}
