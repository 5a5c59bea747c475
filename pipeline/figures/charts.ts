/**
 * Charts: a Vega-Lite spec, compiled to Vega and rendered to SVG at build time (no canvas, no
 * browser), so every chart is visible without JavaScript and its spec is a download a reader can
 * open in the Vega editor.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

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
