/**
 * Route data for the pages: reports with their narratives and figures, looked up by id, with
 * errors that name the file to fix. Pages stay thin; the logic lives here.
 */
import { getCollection, getEntry, type CollectionEntry } from 'astro:content';

export { formatBytes } from '../../pipeline/util/format.ts';

export type Report = CollectionEntry<'reports'>['data'];
export type Figure = CollectionEntry<'figures'>['data'];

export async function allReports(): Promise<Report[]> {
  return (await getCollection('reports')).map((entry) => entry.data).sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}

export async function requireReport(id: string): Promise<Report> {
  const entry = await getEntry('reports', id);
  if (!entry) throw new Error(`no report '${id}' in reports/ (run the pipeline: npm run pipeline -- --only ${id})`);
  return entry.data;
}

export async function requireNarrative(id: string) {
  const entry = await getEntry('narratives', id);
  if (!entry) throw new Error(`report '${id}' has no narrative: create content/${id}.mdx`);
  return entry;
}

/** The figures of a report, in the order of its spec. */
export async function reportFigures(report: Report): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const id of report.figures) figures.push(await requireFigure(report.id, id));
  return figures;
}

export async function requireFigure(report: string, id: string, referencedFrom?: string): Promise<Figure> {
  const entry = await getEntry('figures', `${report}/${id}`);
  if (!entry) {
    const known = (await getCollection('figures', (f) => f.data.report === report)).map((f) => f.data.id);
    const where = referencedFrom ? `${referencedFrom} references` : 'there is no';
    throw new Error(`${where} figure '${id}' of report '${report}', which does not exist (known: ${known.join(', ') || 'none'})`);
  }
  return entry.data;
}

/** 1-based figure number within its report (the spec's order). */
export function figureNumber(report: Report, figureId: string): number {
  return report.figures.indexOf(figureId) + 1;
}

export const FILE_LABELS: Record<string, string> = {
  figure: 'Figure (SVG)',
  png: 'Figure (PNG)',
  'vega-lite': 'Vega-Lite spec',
  'data-json': 'Data (JSON)',
  'data-csv': 'Data (CSV)',
  weights: 'Weights (safetensors)',
};
