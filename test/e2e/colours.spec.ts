/**
 * One colour per entity: every caption of the built reports names colours only from the site's
 * palette (pipeline/figures/palette.ts), and a chart that names a colour draws it.
 */
import { existsSync, globSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, test } from '@playwright/test';
import { captionColours } from '../../pipeline/figures/palette.ts';

/** The smoke build's reports; FIGURES_REPORTS=reports checks the published build's. */
const REPORTS = process.env.FIGURES_REPORTS ?? '.smoke/reports';
/** Colour words a caption might use, with an optional shade: the test must see every one. */
const COLOUR_WORD =
  /\b(?:(light|dark|pale|bright) )?(red|blue|orange|grey|gray|green|purple|pink|black|teal|brown|yellow|violet|cyan|magenta|white)\b/gi;

/** Each colour phrase of a caption, lower-cased ("light blue", "red"). */
function colourPhrases(caption: string): string[] {
  return [...caption.matchAll(COLOUR_WORD)].map((m) => m[0].toLowerCase());
}

test('the rule itself: shades outside the palette are caught', () => {
  const named = captionColours();
  const unknown = colourPhrases('eigenvectors (red), shared basis (light blue), white space').filter(
    (p) => !named.has(p),
  );
  expect(unknown).toEqual(['light blue', 'white']);
});

test('captions name colours only from the palette, and a chart draws the colours its caption names', () => {
  const named = captionColours();
  const problems: string[] = [];
  const metas = globSync(join(REPORTS, '*/figures/*/meta.json'));
  expect(metas.length).toBeGreaterThan(20);
  for (const file of metas) {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as { report: string; id: string; caption: string };
    const where = `${meta.report}/${meta.id}`;
    const spec = join(dirname(file), 'figure.vl.json');
    const drawn = existsSync(spec) ? readFileSync(spec, 'utf8').toLowerCase() : null;
    for (const phrase of colourPhrases(meta.caption)) {
      if (!named.has(phrase)) {
        problems.push(`${where}: caption names '${phrase}', not a colour of the palette`);
        continue;
      }
      const hex = named.get(phrase);
      if (drawn !== null && hex && !drawn.includes(hex))
        problems.push(`${where}: caption names '${phrase}' (${hex}), which the chart does not draw`);
    }
  }
  expect(problems).toEqual([]);
});
