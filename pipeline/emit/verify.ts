/**
 * The last check before anything is published: weights that are whole and finite, figure files
 * that are there and parse. The cache verifies its entries byte for byte (cache/store.ts); this
 * catches what a job itself got wrong, so that nothing damaged reaches reports/ either way.
 */
import type { Artifact } from '../cache/artifact.ts';
import { PipelineError } from '../errors.ts';
import { FIGURE_FILES } from '../figures/job.ts';
import { modelWeights, type ModelMeta } from '../train/job.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function refuse(where: string, what: string): PipelineError {
  return new PipelineError(`refusing to publish ${where}: ${what}`, {
    hint: 'rebuild it with --force; if it persists, the job that made it is at fault',
  });
}

/** Weights in their kind's full layout, every value finite. */
export function checkPublishableWeights(model: Artifact<ModelMeta>, where: string): void {
  if (Object.keys(model.tensors).length === 0) throw refuse(where, 'it has no tensors');
  let weights;
  try {
    weights = modelWeights(model);
  } catch (error) {
    throw refuse(where, (error as Error).message);
  }
  for (const [name, values] of Object.entries(weights)) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw refuse(where, `tensor '${name}' holds ${values[bad]} at index ${bad}`);
  }
}

/** A figure's files: its SVG (with a size), PNG, data as JSON and CSV, and any JSON spec that parses. */
export function checkPublishableFigure(files: Record<string, Uint8Array>, where: string): void {
  for (const name of [FIGURE_FILES.svg, FIGURE_FILES.png, FIGURE_FILES.data, FIGURE_FILES.csv]) {
    if (!files[name] || files[name].length === 0)
      throw refuse(where, `${name} is ${files[name] ? 'empty' : 'missing'}`);
  }
  for (const [name, bytes] of Object.entries(files)) {
    if (name.endsWith('.json')) {
      try {
        JSON.parse(Buffer.from(bytes).toString('utf8'));
      } catch (error) {
        throw refuse(where, `${name} is not valid JSON (${(error as Error).message})`);
      }
    }
    if (
      name.endsWith('.svg') &&
      !/^\s*(<\?xml[^>]*>\s*)?<svg\b[\s\S]*<\/svg>\s*$/.test(Buffer.from(bytes).toString('utf8'))
    ) {
      throw refuse(where, `${name} is not a whole SVG document`);
    }
  }
  const png = files[FIGURE_FILES.png]!;
  if (png.length < 33 || PNG_SIGNATURE.some((b, i) => png[i] !== b))
    throw refuse(where, `${FIGURE_FILES.png} is not a PNG image`);
}
