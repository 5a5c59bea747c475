/**
 * Route data for the pages: reports with their narratives and figures, looked up by id, with
 * errors that name the file to fix. Pages stay thin; the logic lives here.
 */
import { getCollection, getEntry, type CollectionEntry } from 'astro:content';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTENT_DIR, REPORTS_DIR } from './paths.ts';
import { narrativeFigureOrder } from './references.ts';

export { formatBytes, formatSeconds } from '../../pipeline/util/format.ts';

export type Report = CollectionEntry<'reports'>['data'];
export type Figure = CollectionEntry<'figures'>['data'];
export type Timings = CollectionEntry<'timings'>['data'];

/** A report's build timings; an error naming the fix when its timings.json is missing. */
export async function requireTimings(id: string): Promise<Timings> {
  const entry = await getEntry('timings', id);
  if (!entry)
    throw new Error(
      `report '${id}' has no timings.json in reports/${id}/ (rebuild it: npm run pipeline -- --only ${id})`,
    );
  return entry.data;
}

export async function allReports(): Promise<Report[]> {
  return (await getCollection('reports'))
    .map((entry) => entry.data)
    .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}

export async function requireReport(id: string): Promise<Report> {
  const entry = await getEntry('reports', id);
  if (!entry)
    throw new Error(`no report '${id}' in reports/ (run the pipeline: npm run pipeline -- --only ${id})`);
  return entry.data;
}

export async function requireNarrative(id: string) {
  const entry = await getEntry('narratives', id);
  if (!entry) throw new Error(`report '${id}' has no narrative: create content/${id}.mdx`);
  return entry;
}

/** The figures of a report, in reading order (see figureOrder). */
export async function reportFigures(report: Report): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const id of figureOrder(report)) figures.push(await requireFigure(report.id, id));
  return figures;
}

const orders = new Map<string, string[]>();

/**
 * A report's figures in the order a reader meets them, as a paper numbers them: by their first
 * <Figure id> or <FigureRef id> in the narrative (content/<report>.mdx), then the figures the
 * narrative never mentions, in the order of the report's spec.
 */
export function figureOrder(report: Report): string[] {
  let order = orders.get(report.id);
  if (!order) {
    const file = join(CONTENT_DIR, `${report.id}.mdx`);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    order = narrativeFigureOrder(text, report.figures);
    orders.set(report.id, order);
  }
  return order;
}

export async function requireFigure(report: string, id: string, referencedFrom?: string): Promise<Figure> {
  const entry = await getEntry('figures', `${report}/${id}`);
  if (!entry) {
    const known = (await getCollection('figures', (f) => f.data.report === report)).map((f) => f.data.id);
    const where = referencedFrom ? `${referencedFrom} references` : 'there is no';
    throw new Error(
      `${where} figure '${id}' of report '${report}', which does not exist ` +
        `(known: ${known.join(', ') || 'none'})`,
    );
  }
  return entry.data;
}

/** 1-based figure number within its report, in reading order. */
export function figureNumber(report: Report, figureId: string): number {
  return figureOrder(report).indexOf(figureId) + 1;
}

/** The figures before and after one in its report's order (for previous/next links). */
export function figureNeighbours(report: Report, figureId: string): { previous?: string; next?: string } {
  const order = figureOrder(report);
  const i = order.indexOf(figureId);
  return {
    ...(i > 0 ? { previous: order[i - 1]! } : {}),
    ...(i + 1 < order.length ? { next: order[i + 1]! } : {}),
  };
}

/**
 * A figure's data version: the first 12 hex digits of the SHA-256 of its data.json. It changes
 * exactly when the numbers behind the figure change, so a reader can tell whether the figure they
 * cited is the one on the page now.
 */
export function dataVersion(figure: Figure): string {
  const data = figure.files.find((f) => f.role === 'data-json' && f.name === 'data.json');
  if (!data) throw new Error(`figure ${figure.report}/${figure.id} has no data.json`);
  return data.sha256.slice(0, 12);
}

/** The figure's PNG (its OpenGraph image), when the pipeline made one. */
export function figurePng(figure: Figure) {
  return figure.files.find((f) => f.role === 'png');
}

export const FILE_LABELS: Record<string, string> = {
  figure: 'Figure (SVG)',
  png: 'Figure (PNG, 2×)',
  'page-figure': 'Page figure (SVG)',
  'vega-lite': 'Vega-Lite spec',
  'data-json': 'Data (JSON)',
  'data-csv': 'Data (CSV)',
  weights: 'Weights (safetensors)',
};

/** Width and height of a PNG the pipeline wrote (from its IHDR header). */
export function pngSize(report: string, figure: string, file: string): { width: number; height: number } {
  const bytes = readFileSync(join(REPORTS_DIR, report, 'figures', figure, file));
  if (bytes.readUInt32BE(12) !== 0x49484452) throw new Error(`${report}/${figure}/${file} is not a PNG`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Thumbnails are this wide; twice the width they are shown at, for sharp screens. */
export const THUMBNAIL_WIDTH = 480;

/** The size of a figure's thumbnail (null when the figure has no PNG to make one from). */
export function thumbnailSize(figure: Figure): { width: number; height: number } | null {
  const png = figurePng(figure);
  if (!png) return null;
  const { width, height } = pngSize(figure.report, figure.id, png.name);
  const w = Math.min(THUMBNAIL_WIDTH, width);
  return { width: w, height: Math.max(1, Math.round((height * w) / width)) };
}

/**
 * The figure that stands for a report in lists: the first drawing a reader meets (a chart or an
 * image, not a table), else its first figure with a PNG.
 */
export async function coverFigure(report: Report): Promise<Figure | undefined> {
  const figures = (await reportFigures(report)).filter((f) => figurePng(f));
  return figures.find((f) => f.kind === 'image' || f.kind === 'chart') ?? figures[0];
}

/** What a report's settings hold at a path, or undefined. */
function settingAt(report: Report, path: string[]): unknown {
  return path.reduce<unknown>(
    (at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
    report.settings,
  );
}

/**
 * A number from a report's settings ("built with"), by its path: `setting(r, 'training', 'inputNoise')`.
 * Prose that names a setting reads it here, so it cannot drift from what was built; a path that
 * is not a number fails the build, naming it. For a list of numbers (a grid), `largest` picks its
 * strongest value.
 */
export function setting(report: Report, path: string[], largest = false): number {
  const at = settingAt(report, path);
  const values = largest && Array.isArray(at) ? at : [at];
  if (values.length === 0 || !values.every((x): x is number => typeof x === 'number'))
    throw new Error(
      `report '${report.id}' has no ${largest ? 'list of numbers' : 'number'} at settings.${path.join('.')} ` +
        `(found ${JSON.stringify(at)})`,
    );
  return Math.max(...values);
}
