/**
 * Charts: a Vega-Lite spec, compiled to Vega and rendered to SVG at build time (no canvas, no
 * browser), so every chart is visible without JavaScript and its spec is a download a reader can
 * open in the Vega editor.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { textWidth } from './svg.ts';

/**
 * Text widths for layout. Without a canvas Vega guesses 0.8 em a character, wider than DejaVu
 * Sans (about 0.6 em): charts were laid out for legends and labels a third wider than drawn, and
 * kept that much blank space on their right. The site's own estimate (svg.ts, per character class)
 * is used instead; a label with a limit is cut, with an ellipsis, where this estimate says, as
 * Vega would cut it. The browser test of every figure's text (test/e2e/figure-text.spec.ts) checks
 * that nothing drawn this way overlaps or overflows.
 */
type TextItem = { fontSize?: number; fontWeight?: string | number; limit?: number };
const ELLIPSIS = '…';
function layoutWidth(item: TextItem, line: string | number | null | undefined): number {
  const text = line == null ? '' : String(line).trim();
  const size = item.fontSize ?? 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const width = (t: string) => textWidth(t, size, bold);
  const limit = item.limit;
  if (!(limit && limit > 0) || width(text) <= limit) return width(text);
  // Vega calls this for every label at every layout pass: the longest prefix that fits with its
  // ellipsis is found by bisection (width grows with the prefix), not one character at a time.
  let [fits, over] = [0, text.length + 1];
  while (over - fits > 1) {
    const mid = (fits + over) >> 1;
    if (width(text.slice(0, mid) + ELLIPSIS) <= limit) fits = mid;
    else over = mid;
  }
  return width(text.slice(0, fits) + ELLIPSIS);
}
// vega exports textMetrics (from vega-scenegraph); its type declarations do not list it
(vega as unknown as { textMetrics: { width: typeof layoutWidth } }).textMetrics.width = layoutWidth;

/** Shared look of every chart. */
export const CHART_CONFIG = {
  font: 'DejaVu Sans, Verdana, sans-serif',
  background: '#ffffff',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  header: { labelFontSize: 12, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: '#cccccc' },
} as const;

/**
 * Vega numbers the ids of SVG definitions (gradient_N, clipN) in counters shared by the whole
 * process, so a chart's bytes would depend on what was drawn before it. Charts are drawn one at a
 * time, each with the counters reset: a figure rebuilt alone is byte for byte the one a cold
 * build drew.
 */
let drawing: Promise<unknown> = Promise.resolve();

export function renderChart(spec: TopLevelSpec): Promise<string> {
  const next = drawing.then(() => drawChart(spec));
  drawing = next.catch(() => undefined);
  return next;
}

async function drawChart(spec: TopLevelSpec): Promise<string> {
  const { spec: vgSpec } = compile(spec);
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}
