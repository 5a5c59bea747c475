/**
 * Where the site reads the pipeline's output, and the URL of every citable thing. All URLs are
 * built here so the URL scheme (DESIGN.md "Stable, citable figures") lives in one place.
 */
import { resolve } from 'node:path';

/** The pipeline's output folder (REPORTS_DIR lets tests build from a temporary one). */
export const REPORTS_DIR = resolve(process.env.REPORTS_DIR ?? './reports');

const BASE = import.meta.env.BASE_URL.replace(/\/?$/, '/');

/** A site-absolute URL under the configured base path. */
export function url(path = ''): string {
  return `${BASE}${path.replace(/^\//, '')}`;
}

export const reportUrl = (report: string) => url(`reports/${report}/`);
export const figureUrl = (report: string, figure: string) => url(`reports/${report}/figures/${figure}/`);
export const figureFileUrl = (report: string, figure: string, file: string) => `${figureUrl(report, figure)}${file}`;
export const modelFileUrl = (report: string, file: string) => url(`reports/${report}/models/${file}`);
