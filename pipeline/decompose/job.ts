/**
 * Decomposition jobs, for any bilinear layer of any model kind and any set of named output
 * directions, given as data:
 *
 *   directions: { names, vectors }        vectors in the layer's output space (class one-hots,
 *                                         logit differences, any u)
 *             | { names, tensor, rows }   rows of one of the model's own tensors (unembedding rows)
 *
 * Each direction u gets the canonical eigendecomposition of Q_u (paper §3.1), stored in float64
 * so that downstream metrics see the solver's full precision.
 */
import type { Artifact } from '../cache/artifact.ts';
import { requireTensor } from '../cache/artifact.ts';
import { artifactOf, defineJob, type Job } from '../cache/job.ts';
import { PipelineError } from '../errors.ts';
import { tensor } from '../tensors/safetensors.ts';
import { bilinearLayersOf, modelWeights, type ModelMeta } from '../train/job.ts';
import { defaultSolver, symmetricEigen, type Eigen, type EigenSolver } from './eigen.ts';
import { hosvd } from './hosvd.ts';
import { interactionMatrix, interactionTensor } from './interaction.ts';
import { bilinearLayer, type BilinearLayer } from './layer.ts';

export type Directions =
  { names: string[]; vectors: number[][] } | { names: string[]; tensor: string; rows: number[] };

/** One direction per output: the one-hot of each class's logit, named by the class. */
export function oneHotDirections(names: string[]): Directions {
  return { names, vectors: names.map((_, a) => names.map((__, b) => (a === b ? 1 : 0))) };
}

export type EigenMeta = {
  /** The bilinear layer (its kind's name for it), its width d and number of outputs c. */
  layer: string;
  d: number;
  outputs: number;
  directions: string[];
  solver: string;
};

type EigenParams = { layer: string; directions: Directions; solver: EigenSolver };

const eigenKind = defineJob<EigenMeta, { model: ModelMeta }, EigenParams>({
  name: 'decompose/eigen',
  stage: 'decompose',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => {
    const layer = layerOf(inputs.model, params.layer);
    const us = directionVectors(inputs.model, layer, params.directions);
    const tensors: Artifact['tensors'] = {};
    us.forEach((u, i) => {
      const eig = symmetricEigen(interactionMatrix(layer, u), layer.d, params.solver);
      tensors[`direction${i}.values`] = tensor(eig.values, [eig.n]);
      tensors[`direction${i}.vectors`] = tensor(eig.vectors, [eig.n, eig.n]);
    });
    return {
      meta: {
        layer: params.layer,
        d: layer.d,
        outputs: layer.c,
        directions: params.directions.names,
        solver: params.solver,
      },
      tensors,
      files: {},
    };
  },
});

/** The eigendecomposition of Q_u for each direction, for one bilinear layer of a model. */
export function eigenJob(
  label: string,
  model: Job<ModelMeta>,
  directions: Directions,
  layer = 'layer',
): Job<EigenMeta> {
  // The solver is part of the key: LAPACK and ml-matrix agree only to rounding. The model job's
  // modules (its kind's) are this job's too: a worker must know the kind to read its layers.
  return eigenKind.create(
    label,
    { model },
    { layer, directions, solver: defaultSolver() },
    { modules: model.modules },
  );
}

/** Each class's interaction matrix: the decomposition the image reports read. */
export function classEigenJob(label: string, model: Job<ModelMeta>, classNames: string[]): Job<EigenMeta> {
  return eigenJob(label, model, oneHotDirections(classNames));
}

/** A model's bilinear layer `name`, checked, in float64. */
export function layerOf(model: Artifact<ModelMeta>, name = 'layer'): BilinearLayer {
  const layers = bilinearLayersOf(model);
  const parts = layers.find((l) => l.name === name);
  if (!parts)
    throw new PipelineError(
      `${model.meta.model.description} has no bilinear layer '${name}' (has: ` +
        `${layers.map((l) => l.name).join(', ')})`,
    );
  return bilinearLayer(parts);
}

function directionVectors(
  model: Artifact<ModelMeta>,
  layer: BilinearLayer,
  directions: Directions,
): Float64Array[] {
  const us =
    'vectors' in directions
      ? directions.vectors.map((v) => Float64Array.from(v))
      : modelRows(model, directions.tensor, directions.rows);
  if (us.length !== directions.names.length)
    throw new PipelineError(`${directions.names.length} direction names for ${us.length} directions`);
  us.forEach((u, i) => {
    if (u.length !== layer.c)
      throw new PipelineError(
        `direction '${directions.names[i]}' has length ${u.length}; the layer's ` +
          `output space has ${layer.c} dimensions`,
      );
  });
  return us;
}

function modelRows(model: Artifact<ModelMeta>, name: string, rows: number[]): Float64Array[] {
  const t = requireTensor(model, name, model.meta.model.description);
  const cols = t.shape[1]!;
  const data = modelWeights(model)[name]!;
  return rows.map((r) => {
    if (!(r >= 0 && r < t.shape[0]!))
      throw new PipelineError(`row ${r} of tensor '${name}' does not exist (it has ${t.shape[0]} rows)`);
    return Float64Array.from(data.subarray(r * cols, (r + 1) * cols));
  });
}

/** The eigen artifact of an input known only by name, checked. */
export function asEigen(a: Artifact | undefined, what = 'decomposition'): Artifact<EigenMeta> {
  return artifactOf(a, eigenKind, what);
}

/** Direction i's canonical eigendecomposition (for one-hot directions, i is the class). */
export function classEigen(eigen: Artifact<EigenMeta>, i: number): Eigen {
  const values = requireTensor(eigen, `direction${i}.values`, 'decomposition').data as Float64Array;
  const vectors = requireTensor(eigen, `direction${i}.vectors`, 'decomposition').data as Float64Array;
  return { n: values.length, values, vectors };
}

/** Every direction's eigendecomposition, in order. */
export function allEigens(eigen: Artifact<EigenMeta>): Eigen[] {
  return eigen.meta.directions.map((_, i) => classEigen(eigen, i));
}

export type HosvdMeta = {
  layer: string;
  d: number;
  classes: number;
  rank: number;
  components: number;
  solver: string;
};

type HosvdParams = { layer: string; components: number; solver: EigenSolver };

const hosvdKind = defineJob<HosvdMeta, { model: ModelMeta }, HosvdParams>({
  name: 'decompose/hosvd',
  stage: 'decompose',
  module: import.meta.url,
  run: async (_ctx, inputs, params) => {
    const layer = layerOf(inputs.model, params.layer);
    const h = hosvd(interactionTensor(layer), layer.d);
    const rank = h.singularValues.length;
    const tensors: Artifact['tensors'] = {
      sigma: tensor(h.singularValues, [rank]),
      weights: tensor(h.outputWeights, [layer.c, rank]),
    };
    const components = Math.min(params.components, rank);
    for (let t = 0; t < components; t++) {
      const eig = symmetricEigen(h.components[t]!, layer.d, params.solver);
      tensors[`component${t}.values`] = tensor(eig.values, [eig.n]);
      tensors[`component${t}.vectors`] = tensor(eig.vectors, [eig.n, eig.n]);
    }
    return {
      meta: { layer: params.layer, d: layer.d, classes: layer.c, rank, components, solver: params.solver },
      tensors,
      files: {},
    };
  },
});

/**
 * HOSVD across all outputs: singular values, each output's weight on each component, and the
 * canonical eigendecomposition of the top `components` components (paper §3.3).
 */
export function hosvdJob(
  label: string,
  model: Job<ModelMeta>,
  components: number,
  layer = 'layer',
): Job<HosvdMeta> {
  return hosvdKind.create(
    `${label} (HOSVD)`,
    { model },
    { layer, components, solver: defaultSolver() },
    { modules: model.modules },
  );
}

/** Component t's canonical eigendecomposition from a HOSVD artifact. */
export function hosvdComponentEigen(h: Artifact<HosvdMeta>, t: number): Eigen {
  const values = requireTensor(h, `component${t}.values`, 'HOSVD').data as Float64Array;
  const vectors = requireTensor(h, `component${t}.vectors`, 'HOSVD').data as Float64Array;
  return { n: values.length, values, vectors };
}
