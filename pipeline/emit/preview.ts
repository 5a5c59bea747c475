/**
 * A PNG of every figure, at the deterministic path figure.png: image figures render their own;
 * for charts (SVG only) the emitter rasterises the SVG. It is the figure's OpenGraph image and a
 * bitmap for readers whose tools cannot take SVG. A cached job, so an unchanged rebuild does not
 * rasterise again.
 */
import { artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { FIGURE_FILES } from '../figures/job.ts';
import { svgToPng } from '../figures/images.ts';

/** The job that rasterises the SVG of `figure` (a figure job) to figure.png. */
export function previewJob(figure: Job): Job {
  return {
    // The figure stage: its code version covers svgToPng and the sharp version.
    stage: 'figure',
    label: `${figure.label} (png)`,
    config: { preview: 'png', renderer: 'svgToPng' },
    deps: { figure },
    run: async (_ctx, inputs) => {
      const svg = inputs['figure']!.files[FIGURE_FILES.svg];
      if (!svg) throw new Error(`figure ${figure.label} has no ${FIGURE_FILES.svg} to rasterise`);
      return artifact({ files: { [FIGURE_FILES.png]: await svgToPng(Buffer.from(svg).toString('utf8')) } });
    },
  };
}
