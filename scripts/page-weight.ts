/**
 * What each page of a built site costs a reader on first load: its HTML and every image it loads
 * at once (those without loading="lazy"; no page loads any script or stylesheet file, the styles
 * are inlined). Lazy images load as the reader scrolls to them, and are counted apart.
 *
 *   node scripts/page-weight.ts [dist] [--base /bilinear/]   # a table, heaviest first
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { htmlFiles } from '../test/helpers/site-links.ts';
import { normalizeBase } from '../site/lib/base.ts';

export interface PageWeight {
  page: string;
  /** HTML and images loaded at once, in bytes. */
  firstLoad: number;
  /** Images loaded only when scrolled to. */
  lazy: number;
}

export function pageWeights(dist: string, base = '/'): PageWeight[] {
  return htmlFiles(dist).map((page) => {
    const html = readFileSync(join(dist, page), 'utf8');
    let firstLoad = Buffer.byteLength(html);
    let lazy = 0;
    for (const img of html.matchAll(/<img\b[^>]*>/g)) {
      const src = /\ssrc="([^"]+)"/.exec(img[0])?.[1];
      if (!src || !src.startsWith(base)) continue;
      const file = join(dist, decodeURIComponent(src.slice(base.length)));
      const bytes = existsSync(file) ? statSync(file).size : 0;
      if (/\sloading="lazy"/.test(img[0])) lazy += bytes;
      else firstLoad += bytes;
    }
    return { page: `/${page.replace(/(^|\/)index\.html$/, '$1')}`, firstLoad, lazy };
  });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--base');
  const base = normalizeBase(at >= 0 ? args[at + 1] : process.env.BASE_PATH);
  const dist = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--base') ?? 'dist';
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  const rows = pageWeights(dist, base).sort((a, b) => b.firstLoad - a.firstLoad);
  process.stdout.write(
    rows.map((r) => `${kb(r.firstLoad).padStart(8)}  ${kb(r.lazy).padStart(8)} lazy  ${r.page}\n`).join(''),
  );
}
