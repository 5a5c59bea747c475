/**
 * Where the site reads the pipeline's output, and the URL of every citable thing. All URLs are
 * built here so the URL scheme (DESIGN.md "Stable, citable figures") and the base path (BASE_PATH)
 * live in one place.
 */
import { resolve } from 'node:path';

/** The pipeline's output folder (REPORTS_DIR lets tests build from a temporary one). */
export const REPORTS_DIR = resolve(process.env.REPORTS_DIR ?? './reports');

/** The report narratives (CONTENT_DIR lets tests build with a fixture narrative). */
export const CONTENT_DIR = resolve(process.env.CONTENT_DIR ?? './content');

const BASE = import.meta.env.BASE_URL.replace(/\/?$/, '/');

/** A site-absolute URL under the configured base path. */
export function url(path = ''): string {
  return `${BASE}${path.replace(/^\//, '')}`;
}

/** The full URL (scheme and host, SITE_URL) of a site-absolute path, for citations and meta tags. */
export function absoluteUrl(sitePath: string): string {
  return new URL(sitePath, import.meta.env.SITE).href;
}

export const reportUrl = (report: string) => url(`reports/${report}/`);
export const figureUrl = (report: string, figure: string) => url(`reports/${report}/figures/${figure}/`);
export const figureFileUrl = (report: string, figure: string, file: string) =>
  `${figureUrl(report, figure)}${file}`;
export const figurePageUrl = (report: string, figure: string, page: string) =>
  `${figureUrl(report, figure)}${page}/`;
export const modelFileUrl = (report: string, file: string) => url(`reports/${report}/models/${file}`);
/** A figure's thumbnail for lists (not citable: derived from figure.png, it may change with the site). */
export const thumbnailUrl = (report: string, figure: string) => url(`thumbnails/${report}/${figure}.webp`);
/** The anchor of a figure inside its report page. */
export const figureAnchor = (figure: string) => `figure-${figure}`;
