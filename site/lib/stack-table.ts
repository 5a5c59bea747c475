/**
 * A rendered table's inner HTML made ready to stack on a narrow screen: every body cell gets its
 * column's name as `data-label` (which CSS prints before it when rows become cards), and every
 * element an explicit role, so it stays a table to assistive technology whatever its display.
 */

const text = (cell: string) => cell.replace(/<[^>]+>/g, '').trim();

/** The header row's cell texts, and the inner HTML with labels and roles added. */
export function stackTable(inner: string): { header: string[]; html: string } {
  const head = /<thead\b[^>]*>([\s\S]*?)<\/thead>/.exec(inner)?.[1] ?? '';
  const header = [...head.matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((m) => text(m[1]!));
  // header text is taken from HTML, entities and all: only a quote needs escaping in an attribute
  const attr = (s: string) => s.replaceAll('"', '&quot;');
  const body = (rows: string) =>
    rows.replace(/<tr\b([^>]*)>([\s\S]*?)<\/tr>/g, (_, trAttrs: string, cells: string) => {
      let i = 0;
      const labelled = cells.replace(/<(td|th)\b([^>]*)>/g, (_m, tag: string, attrs: string) => {
        const label = header[i++] ?? '';
        const role = tag === 'th' ? 'rowheader' : 'cell';
        return `<${tag}${attrs} role="${role}"${label ? ` data-label="${attr(label)}"` : ''}>`;
      });
      return `<tr${trAttrs} role="row">${labelled}</tr>`;
    });
  const html = inner
    .replace(
      /<thead\b([^>]*)>([\s\S]*?)<\/thead>/,
      (_, a: string, rows: string) =>
        `<thead${a} role="rowgroup">${rows
          .replace(/<tr\b([^>]*)>/g, '<tr$1 role="row">')
          .replace(/<th\b([^>]*)>/g, '<th$1 role="columnheader">')}</thead>`,
    )
    .replace(
      /<tbody\b([^>]*)>([\s\S]*?)<\/tbody>/,
      (_, a: string, rows: string) => `<tbody${a} role="rowgroup">${body(rows)}</tbody>`,
    );
  return { header, html };
}
