/** Small helpers for SVG written by hand: escaping and number formatting that never churns. */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

/** A number for display: 3 significant digits, with a true minus sign. */
export function formatValue(x: number): string {
  const abs = Math.abs(x);
  const text = abs !== 0 && (abs < 0.01 || abs >= 1000) ? abs.toExponential(2) : abs.toPrecision(3);
  return `${x < 0 ? '−' : ''}${text}`;
}

export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="DejaVu Sans, Verdana, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
