/** Small helpers for SVG written by hand: escaping and number formatting that never churns. */

/**
 * Text as XML character data. Characters XML 1.0 cannot hold at all (control characters other than
 * tab and line breaks, which a model's byte tokens can produce; lone surrogates; U+FFFE, U+FFFF)
 * become visible stand-ins: a C0 control its Unicode control picture (0x0E as ␎), the others U+FFFD.
 */
export function escapeXml(text: string): string {
  return text
    .replace(
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      (ch) => (ch < ' ' ? String.fromCharCode(0x2400 + ch.charCodeAt(0)) : '\uFFFD'),
    )
    .replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
    );
}

/** A number for display: 3 significant digits, with a true minus sign. */
export function formatValue(x: number): string {
  const abs = Math.abs(x);
  const text = abs !== 0 && (abs < 0.01 || abs >= 1000) ? abs.toExponential(2) : abs.toPrecision(3);
  return `${x < 0 ? '−' : ''}${text}`;
}

export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" role="img" font-family="DejaVu Sans, Verdana, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const NARROW = new Set(" iljft.,:;!|'()[]{}`r");
const WIDE = new Set('mwMW<>=+%@#&~_—–');

/**
 * An upper bound on the drawn width of a text in DejaVu Sans (the figures' font), in pixels: each
 * glyph by its class (narrow 0.4 em, lower case and digits 0.64 em, capitals 0.8 em, wide and
 * other scripts 1 em; bold 10% more). Text placed by hand is fitted with it, so it never runs
 * into its neighbour or past the frame (a browser test measures the real glyphs).
 */
export function textWidth(text: string, fontSize = 12, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if (NARROW.has(ch)) em += 0.4;
    else if (WIDE.has(ch) || ch.codePointAt(0)! > 0x7f) em += 1;
    else if (ch >= 'A' && ch <= 'Z') em += 0.8;
    else em += 0.64;
  }
  return Math.ceil(em * fontSize * (bold ? 1.1 : 1));
}

/**
 * Text wrapped at word boundaries into lines at most `width` pixels wide (by textWidth); a word
 * wider than a line is broken between its characters. Line breaks in the text are kept.
 */
export function wrapText(text: string, width: number, fontSize = 12): string[] {
  const fits = (t: string) => textWidth(t, fontSize) <= width;
  return text.split('\n').flatMap((paragraph) => {
    const lines: string[] = [];
    let line = '';
    for (const word of paragraph.split(' ')) {
      const joined = line ? `${line} ${word}` : word;
      if (fits(joined)) {
        line = joined;
        continue;
      }
      if (line) lines.push(line);
      line = '';
      for (const ch of word) {
        if (line && !fits(line + ch)) {
          lines.push(line);
          line = '';
        }
        line += ch;
      }
    }
    return [...lines, line];
  });
}
