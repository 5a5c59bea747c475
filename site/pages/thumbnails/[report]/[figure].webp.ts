/**
 * Small pictures of figures for the home page, /reports/ and /figures/: each figure's PNG scaled
 * to THUMBNAIL_WIDTH on white, as WebP, at /thumbnails/<report>/<figure>.webp. Made when the site
 * builds (sharp is deterministic for the same input and version); not citable.
 */
import type { APIRoute } from 'astro';
import { getCollection } from 'astro:content';
import { join } from 'node:path';
import sharp from 'sharp';
import { REPORTS_DIR } from '@site/lib/paths.ts';
import { figurePng, thumbnailSize, type Figure } from '@site/lib/reports.ts';

export async function getStaticPaths() {
  const figures = await getCollection('figures');
  return figures
    .filter(({ data }) => figurePng(data))
    .map(({ data }) => ({ params: { report: data.report, figure: data.id }, props: { figure: data } }));
}

export const GET: APIRoute = async ({ props }) => {
  const figure = (props as { figure: Figure }).figure;
  const size = thumbnailSize(figure)!;
  const png = join(REPORTS_DIR, figure.report, 'figures', figure.id, figurePng(figure)!.name);
  const webp = await sharp(png)
    .resize({ ...size, fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .webp({ quality: 78, effort: 4 })
    .toBuffer();
  return new Response(new Uint8Array(webp), { headers: { 'Content-Type': 'image/webp' } });
};
