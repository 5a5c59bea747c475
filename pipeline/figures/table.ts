import { escapeXml, svgDocument, textWidth } from './svg.ts';

/** A flat table, the shape of every figure's data.csv (RFC 4180 quoting, \n line ends). */
export interface Table {
  columns: string[];
  rows: (string | number)[][];
}

export function toCsv(table: Table): string {
  for (const [i, row] of table.rows.entries()) {
    if (row.length !== table.columns.length) {
      throw new Error(`row ${i} has ${row.length} cells but the table has ${table.columns.length} columns`);
    }
  }
  return [table.columns, ...table.rows].map((row) => row.map(cell).join(',')).join('\n') + '\n';
}

function cell(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`refusing to write a non-finite number (${value}) to CSV`);
    return String(value);
  }
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface TableSvgOptions {
  title: string;
  columns: string[];
  rows: string[][];
  /** Least width of each column in pixels; a column grows to fit its longest cell. */
  widths: number[];
  groupEvery?: number;
}

/**
 * A table figure's two forms: the HTML the site shows (readable on any screen, copyable) and the
 * SVG drawing to download for a paper, from the same cells.
 */
export function tableFigure(options: TableSvgOptions): {
  kind: 'table';
  svg: string;
  html: { table: { columns: string[]; rows: string[][]; groupEvery?: number } };
} {
  const { columns, rows, groupEvery } = options;
  return {
    kind: 'table',
    svg: tableSvg(options),
    html: { table: { columns, rows, ...(groupEvery ? { groupEvery } : {}) } },
  };
}

const FONT = 12;
const LINE = 15;
const PAD = 14;

/** Words of a header put on as few lines as fit `width` (a word longer than it gets its own line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && textWidth(`${last} ${word}`, FONT, true) <= width)
      lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.length > 0 ? lines : [''];
}

/**
 * A table drawn as SVG (a figure readers can cite and download like any other): bold headers
 * wrapped onto lines within their column, every column as wide as its longest cell (so no text
 * runs into the next), a rule every `groupEvery` rows.
 */
export function tableSvg(options: TableSvgOptions): string {
  const { columns, rows } = options;
  const rowH = 22;
  const widths = columns.map((header, i) => {
    const cells = Math.max(0, ...rows.map((r) => textWidth(r[i] ?? '', FONT)));
    const longestWord = Math.max(...header.split(/\s+/).map((w) => textWidth(w, FONT, true)));
    return Math.max(options.widths[i] ?? 0, cells + PAD, longestWord + PAD);
  });
  const headers = columns.map((header, i) => wrapWords(header, widths[i]! - PAD));
  const headerLines = Math.max(...headers.map((h) => h.length));
  const top = 10 + headerLines * LINE; // baseline of the last header line, plus a gap
  const width = widths.reduce((a, b) => a + b, 0) + 20;
  const height = top + rows.length * rowH + 20;
  const body: string[] = [];
  const cellText = (text: string, x: number, y: number, bold: boolean) => {
    const weight = bold ? ' font-weight="bold"' : '';
    return `<text x="${x}" y="${y}" font-size="${FONT}"${weight}>${escapeXml(text)}</text>`;
  };
  let x = 10;
  headers.forEach((lines, i) => {
    // headers sit on the rule: a shorter header's lines start lower
    lines.forEach((line, l) => body.push(cellText(line, x, top - (lines.length - 1 - l) * LINE, true)));
    x += widths[i]!;
  });
  rows.forEach((row, r) => {
    const y = top + (r + 1) * rowH;
    if (r % (options.groupEvery ?? rows.length) === 0)
      body.push(`<line x1="10" x2="${width - 10}" y1="${y - 15}" y2="${y - 15}" stroke="#ccc"/>`);
    let cx = 10;
    row.forEach((text, i) => {
      body.push(cellText(text, cx, y, false));
      cx += widths[i]!;
    });
  });
  return svgDocument(width, height, options.title, body);
}
