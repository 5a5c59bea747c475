/**
 * The URL contract: every report and figure URL ever published stays reachable. The committed
 * list (site/published-urls.json) names them, relative to the site's base; a URL may leave only
 * by being listed as moved, and then a redirect page is generated at its old address.
 *
 * Pure functions over the reports folder and the built site, shared by the build (the `citable`
 * integration), the list's update script and the tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { readReportFiles } from './report-files.ts';

export const CONTRACT_FILE = resolve('site/published-urls.json');

/** A published page, relative to the base: `reports/<report>/` or `reports/<report>/figures/<figure>/`. */
const pagePath = z
  .string()
  .regex(
    /^reports\/[a-z0-9-]+\/(figures\/[a-z0-9-]+\/)?$/,
    'must look like reports/<report>/ or reports/<report>/figures/<figure>/',
  );

export const contractSchema = z.object({
  $comment: z.string().optional(),
  /** Every published URL, sorted. */
  urls: z.array(pagePath),
  /** Old URL → where it lives now. Each old URL is also kept in `urls`. */
  moved: z.record(pagePath, pagePath).default({}),
});

export type Contract = z.infer<typeof contractSchema>;

export function readContract(file = CONTRACT_FILE): Contract {
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run urls:update after a default build`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = contractSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** The report and figure pages a reports folder publishes (sorted). */
export function publishedPaths(reportsDir: string): string[] {
  return readReportFiles(reportsDir)
    .flatMap(({ id, figures }) => [`reports/${id}/`, ...figures.map((f) => `reports/${id}/figures/${f}/`)])
    .sort();
}

/** The profiles the reports in a folder were built with. */
export function reportProfiles(reportsDir: string): string[] {
  return readReportFiles(reportsDir).map((r) => r.profile);
}

export interface ContractCheck {
  /** Listed, not moved, and not published: the build must fail. */
  missing: string[];
  /** Listed as moved, but the new address is not published. */
  brokenMoves: [string, string][];
  /** Listed as moved, yet still published at the old address. */
  stillPresent: string[];
  /** Published but not yet listed (run npm run urls:update). */
  unlisted: string[];
}

export function checkContract(contract: Contract, published: string[]): ContractCheck {
  const present = new Set(published);
  const listed = new Set(contract.urls);
  const moved = contract.moved;
  return {
    missing: contract.urls.filter((u) => !present.has(u) && !(u in moved)),
    brokenMoves: Object.entries(moved).filter(([, to]) => !present.has(to)),
    stillPresent: Object.keys(moved).filter((from) => present.has(from)),
    unlisted: published.filter((u) => !listed.has(u)),
  };
}

/** The error a failed check gives, naming every offending URL and the way out; null when it passes. */
export function contractError(
  check: ContractCheck,
  base: string,
  file = 'site/published-urls.json',
): string | null {
  const lines: string[] = [];
  const at = (p: string) => `${base}${p}`;
  for (const u of check.missing) lines.push(`  ${at(u)} is no longer built`);
  for (const [from, to] of check.brokenMoves)
    lines.push(`  ${at(from)} is listed as moved to ${at(to)}, which is not built`);
  for (const u of check.stillPresent) lines.push(`  ${at(u)} is listed as moved but is still built`);
  if (lines.length === 0) return null;
  return [
    `published URL contract broken (${file}):`,
    ...lines,
    `A published URL must never disappear: rebuild what was removed, or, if ` +
      `the figure moved, add "old": "new" to "moved" in ${file} (a redirect ` +
      `page is then generated at the old URL).`,
  ].join('\n');
}

/** Adds newly published URLs to the list, keeping every URL it had (a URL is never dropped). */
export function updateContract(contract: Contract, published: string[]): Contract {
  return { ...contract, urls: [...new Set([...contract.urls, ...published])].sort(), moved: contract.moved };
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The page left at a moved URL: an immediate meta refresh, a canonical link to the new address
 * (so search engines and citation managers move too), and a visible link for readers without
 * refresh. No JavaScript.
 */
export function redirectPage(to: string, absoluteTo: string): string {
  const href = escapeHtml(to);
  const canonical = escapeHtml(absoluteTo);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Moved to ${canonical}</title>
<meta http-equiv="refresh" content="0; url=${href}">
<link rel="canonical" href="${canonical}">
<meta name="robots" content="noindex">
</head>
<body>
<main>
<h1>This page has moved</h1>
<p>Its permanent address is now <a href="${href}">${canonical}</a>.</p>
</main>
</body>
</html>
`;
}
