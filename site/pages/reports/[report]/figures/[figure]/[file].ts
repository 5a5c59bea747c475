/**
 * A figure's downloads at deterministic paths beside its permalink page:
 * /reports/<report>/figures/<figure>/<file>, written by the build as static files.
 */
import type { APIRoute } from 'astro';
import { getCollection } from 'astro:content';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORTS_DIR } from '@site/lib/paths.ts';
import { contentType } from '@site/lib/content-type.ts';

export async function getStaticPaths() {
  const figures = await getCollection('figures');
  return figures.flatMap(({ data }) =>
    [...data.files.map((f) => f.name), 'meta.json'].map((file) => ({
      params: { report: data.report, figure: data.id, file },
    })),
  );
}

export const GET: APIRoute = ({ params }) => {
  const path = join(REPORTS_DIR, params.report!, 'figures', params.figure!, params.file!);
  return new Response(readFileSync(path), { headers: { 'Content-Type': contentType(params.file!) } });
};
