/**
 * A PNG of every figure, at the deterministic path figure.png: image figures render their own;
 * for charts (SVG only) the emitter rasterises the SVG. It is the figure's OpenGraph image and a
 * bitmap for readers whose tools cannot take SVG. A cached job, so an unchanged rebuild does not
 * rasterise again.
 */
import { defineJob, type Job } from '../cache/job.ts';
import { FIGURE_FILES, type FigureMeta } from '../figures/job.ts';
import { svgToPng } from '../figures/images.ts';

const rasterise = defineJob<Record<string, never>, { figure: FigureMeta }, { preview: 'png' }>({
  name: 'figure/png',
  stage: 'figure',
  module: import.meta.url,
  run: async (_ctx, inputs) => {
    const svg = inputs.figure.files[FIGURE_FILES.svg];
    if (!svg) throw new Error(`the figure has no ${FIGURE_FILES.svg} to rasterise`);
    return {
      meta: {},
      tensors: {},
      files: { [FIGURE_FILES.png]: await svgToPng(Buffer.from(svg).toString('utf8')) },
    };
  },
});

/** The job that rasterises the SVG of `figure` (a figure job) to figure.png. */
export function previewJob(figure: Job<FigureMeta>): Job<Record<string, never>> {
  return rasterise.create(`${figure.label} (png)`, { figure }, { preview: 'png' });
}
