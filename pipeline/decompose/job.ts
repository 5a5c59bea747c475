/**
 * The decomposition job: the canonical eigendecomposition of every class's interaction matrix
 * Q_a = B[a]. Stored in float64 so that downstream metrics see the solver's full precision.
 */
import { artifact, requireTensor, type Artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/runner.ts';
import { tensor } from '../emit/safetensors.ts';
import { modelMatrices } from '../train/job.ts';
import { defaultSolver, symmetricEigen, type Eigen } from './eigen.ts';
import { interactionMatrix, oneHot } from './interaction.ts';
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
