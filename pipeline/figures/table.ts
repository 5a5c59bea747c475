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
