import { escapeXml, svgDocument } from './svg.ts';

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
  widths: number[];
  groupEvery?: number;
}

/**
 * A table figure's two forms: the HTML the site shows (readable on any screen, copyable) and the
 * SVG drawing to download for a paper, from the same cells.
 */
export function tableFigure(options: TableSvgOptions): { kind: 'table'; svg: string; html: { table: { columns: string[]; rows: string[][]; groupEvery?: number } } } {
  const { columns, rows, groupEvery } = options;
  return { kind: 'table', svg: tableSvg(options), html: { table: { columns, rows, ...(groupEvery ? { groupEvery } : {}) } } };
}

/**
 * A table drawn as SVG (a figure readers can cite and download like any other): bold headers,
 * a rule every `groupEvery` rows.
 */
export function tableSvg(options: TableSvgOptions): string {
  const { columns, rows, widths } = options;
  const rowH = 22;
  const width = widths.reduce((a, b) => a + b, 0) + 20;
  const height = (rows.length + 1) * rowH + 20;
  const body: string[] = [];
  const cellText = (text: string, x: number, y: number, bold: boolean) =>
    `<text x="${x}" y="${y}" font-size="12"${bold ? ' font-weight="bold"' : ''}>${escapeXml(text)}</text>`;
  const line = (cells: string[], y: number, bold: boolean) => {
    let x = 10;
    cells.forEach((text, i) => {
      body.push(cellText(text, x, y, bold));
      x += widths[i]!;
    });
  };
  line(columns, 24, true);
  rows.forEach((row, r) => {
    const y = 24 + (r + 1) * rowH;
    if (r % (options.groupEvery ?? rows.length) === 0) body.push(`<line x1="10" x2="${width - 10}" y1="${y - 15}" y2="${y - 15}" stroke="#ccc"/>`);
    line(row, y, false);
  });
  return svgDocument(width, height, options.title, body);
}
