/**
 * The decomposition job: the canonical eigendecomposition of every class's interaction matrix
 * Q_a = B[a]. Stored in float64 so that downstream metrics see the solver's full precision.
 */
import { artifact, requireTensor, type Artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { tensor } from '../emit/safetensors.ts';
import { modelMatrices } from '../train/job.ts';
import { defaultSolver, symmetricEigen, type Eigen } from './eigen.ts';
import { hosvd } from './hosvd.ts';
import { interactionMatrix, interactionTensor, oneHot } from './interaction.ts';
import { bilinearLayer, type BilinearLayer } from './layer.ts';

export function classEigenJob(label: string, model: Job): Job {
  // The solver is part of the key: LAPACK and ml-matrix agree only to rounding.
  const solver = defaultSolver();
  return {
    stage: 'decompose',
    label,
    config: { outputs: 'class-one-hot', solver },
    deps: { model },
    run: async (_ctx, inputs) => {
      const layer = layerOf(inputs['model']!);
      const tensors: Artifact['tensors'] = {};
      for (let a = 0; a < layer.c; a++) {
        const eig = symmetricEigen(interactionMatrix(layer, oneHot(layer.c, a)), layer.d, solver);
        tensors[`class${a}.values`] = tensor(eig.values, [eig.n]);
        tensors[`class${a}.vectors`] = tensor(eig.vectors, [eig.n, eig.n]);
      }
      return artifact({ meta: { d: layer.d, classes: layer.c, solver }, tensors });
    },
  };
}

export function layerOf(model: Artifact): BilinearLayer {
  return bilinearLayer(modelMatrices(model));
}

/** Class a's canonical eigendecomposition from a decomposition artifact. */
export function classEigen(eigen: Artifact, a: number): Eigen {
  const values = requireTensor(eigen, `class${a}.values`, 'decomposition').data as Float64Array;
  const vectors = requireTensor(eigen, `class${a}.vectors`, 'decomposition').data as Float64Array;
  return { n: values.length, values, vectors };
}

/**
 * HOSVD across all classes: singular values, each class's weight on each component, and the
 * canonical eigendecomposition of the top `components` components (paper §3.3).
 */
export function hosvdJob(label: string, model: Job, components: number): Job {
  const solver = defaultSolver();
  return {
    stage: 'decompose',
    label: `${label} (HOSVD)`,
    config: { method: 'hosvd', components, solver },
    deps: { model },
    run: async (_ctx, inputs) => {
      const layer = layerOf(inputs['model']!);
      const h = hosvd(interactionTensor(layer), layer.d);
      const rank = h.singularValues.length;
      const tensors: Artifact['tensors'] = {
        sigma: tensor(h.singularValues, [rank]),
        weights: tensor(h.outputWeights, [layer.c, rank]),
      };
      for (let t = 0; t < Math.min(components, rank); t++) {
        const eig = symmetricEigen(h.components[t]!, layer.d, solver);
        tensors[`component${t}.values`] = tensor(eig.values, [eig.n]);
        tensors[`component${t}.vectors`] = tensor(eig.vectors, [eig.n, eig.n]);
      }
      return artifact({ meta: { d: layer.d, classes: layer.c, rank, components: Math.min(components, rank), solver }, tensors });
    },
  };
}

/** Component t's canonical eigendecomposition from a HOSVD artifact. */
export function hosvdComponentEigen(h: Artifact, t: number): Eigen {
  const values = requireTensor(h, `component${t}.values`, 'HOSVD').data as Float64Array;
  const vectors = requireTensor(h, `component${t}.vectors`, 'HOSVD').data as Float64Array;
  return { n: values.length, values, vectors };
}
