/**
 * Content types of the files the site serves from reports/ (for the dev server; static hosts infer their
 * own).
 */
const TYPES: Record<string, string> = {
  svg: 'image/svg+xml',
  png: 'image/png',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  safetensors: 'application/octet-stream',
};

export function contentType(file: string): string {
  return TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
}
