/**
 * Checks, before the site builds, that every figure a narrative names exists: `<Figure id>` and
 * `<FigureRef id>` in content/<report>.mdx (an id of that report, or `other-report/figure`), and in
 * the site's own MDX pages (always `report/figure`). A wrong id fails the build with the file, the
 * line and the id, instead of a page that silently lacks its figure.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readReportFiles } from './report-files.ts';
import { join, relative } from 'node:path';

/** Figure ids by report id, from the reports folder. */
export function figureIndex(reportsDir: string): Map<string, string[]> {
  return new Map(readReportFiles(reportsDir).map((r) => [r.id, r.figures]));
}

export interface Reference {
  component: 'Figure' | 'FigureRef';
  id: string;
  line: number;
}

/**
 * A report's figure ids in the order its narrative first shows or names them (ids of the report
 * itself), then those it never mentions, in their given order: the numbering a reader expects.
 */
export function narrativeFigureOrder(narrative: string, figures: readonly string[]): string[] {
  const known = new Set(figures);
  const mentioned = findReferences(narrative)
    .map((r) => r.id)
    .filter((id) => known.has(id));
  return [...new Set([...mentioned, ...figures])];
}

/** Every `<Figure id="…">` and `<FigureRef id="…">` in an MDX source, with its line. */
export function findReferences(source: string): Reference[] {
  const refs: Reference[] = [];
  const pattern =
    /<(Figure|FigureRef)\b[^>]*?\bid\s*=\s*(?:"([^"]*)"|'([^']*)'|\{\s*["'`]([^"'`]*)["'`]\s*\})/g;
  for (const match of source.matchAll(pattern)) {
    const line = source.slice(0, match.index).split('\n').length;
    refs.push({
      component: match[1] as Reference['component'],
      id: match[2] ?? match[3] ?? match[4] ?? '',
      line,
    });
  }
  return refs;
}

/**
 * Problems in one MDX file: `report` is the report whose narrative it is (null for a site page,
 * where only `report/figure` ids can be resolved).
 */
export function checkReferences(
  file: string,
  source: string,
  report: string | null,
  figures: Map<string, string[]>,
): string[] {
  const problems: string[] = [];
  for (const ref of findReferences(source)) {
    const [target, figure] = ref.id.includes('/')
      ? (ref.id.split('/', 2) as [string, string])
      : [report, ref.id];
    const where = `${file}:${ref.line}: <${ref.component} id="${ref.id}">`;
    if (ref.component === 'Figure' && target !== report) {
      problems.push(
        `${where}: <Figure> embeds a figure of this page's own report; link to ` +
          `another report's figure with <FigureRef id="report/figure" />`,
      );
    } else if (target === null) {
      problems.push(`${where}: outside a report narrative, name the figure as report/figure`);
    } else if (!figures.has(target)) {
      problems.push(
        `${where}: there is no report '${target}' (known: ${[...figures.keys()].join(', ') || 'none'})`,
      );
    } else if (!figures.get(target)!.includes(figure)) {
      problems.push(
        `${where}: report '${target}' has no figure '${figure}' (known: ${figures.get(target)!.join(', ')})`,
      );
    }
  }
  return problems;
}

/**
 * Checks the narratives of the reports that were built (content/<report>.mdx) and the site's MDX
 * pages; a narrative whose report is not in the reports folder is not published, so not checked.
 */
export function checkAllReferences(
  root: string,
  contentDir: string,
  pagesDir: string,
  reportsDir: string,
): string[] {
  const figures = figureIndex(reportsDir);
  const problems: string[] = [];
  for (const name of existsSync(contentDir) ? readdirSync(contentDir).sort() : []) {
    const report = name.replace(/\.mdx$/, '');
    if (!name.endsWith('.mdx') || !figures.has(report)) continue;
    const file = join(contentDir, name);
    problems.push(...checkReferences(relative(root, file), readFileSync(file, 'utf8'), report, figures));
  }
  for (const file of listMdx(pagesDir))
    problems.push(...checkReferences(relative(root, file), readFileSync(file, 'utf8'), null, figures));
  return problems;
}

function listMdx(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listMdx(join(dir, e.name)) : e.name.endsWith('.mdx') ? [join(dir, e.name)] : [],
    )
    .sort();
}
