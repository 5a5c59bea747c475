/**
 * The pipeline's report.json files as the build's checks read them (before Astro's collections
 * exist): every report folder, its id, figures and profile. A file that is not valid JSON, or
 * lacks those fields, stops the build naming the file and the fix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface ReportFile {
  id: string;
  figures: string[];
  profile: string;
}

/** Every report in the folder (a sub-folder with a report.json), in folder-name order. */
export function readReportFiles(reportsDir: string): ReportFile[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir)
    .sort()
    .map((dir) => join(reportsDir, dir, 'report.json'))
    .filter((file) => existsSync(file))
    .map(readReportFile);
}

function readReportFile(file: string): ReportFile {
  const where = relative(process.cwd(), file) || file;
  const fail = (what: string) =>
    new Error(`${where}: ${what}; rebuild the reports (npm run pipeline) or remove the folder`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw fail(`not valid JSON (${(error as Error).message})`);
  }
  const r = data as Partial<ReportFile> | null;
  if (
    !r ||
    typeof r.id !== 'string' ||
    !Array.isArray(r.figures) ||
    !r.figures.every((f) => typeof f === 'string') ||
    typeof r.profile !== 'string'
  ) {
    throw fail('not a report (it needs a string id and profile and a list of figure ids)');
  }
  return { id: r.id, figures: r.figures, profile: r.profile };
}
