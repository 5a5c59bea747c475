/**
 * Eigenvectors seen in input space (paper §3.2): f_i = Eᵀ v_i, whose contribution to the output
 * is λ_i (f_i · x)². f_i is not unit norm when E is not orthogonal. Without an embedding, f_i = v_i.
 * With folded biases, the constant coordinate is dropped: f_i has the input's own length.
 */
import type { BilinearLayer } from './layer.ts';

export function inputFeature(layer: BilinearLayer, v: ArrayLike<number>): Float64Array {
  if (v.length !== layer.d)
    throw new Error(`eigenvector has length ${v.length}, the layer has d = ${layer.d}`);
  if (!layer.E) return Float64Array.from(v).subarray(0, layer.input);
  const cols = layer.input + (layer.constant ? 1 : 0);
  const f = new Float64Array(layer.input);
  for (let j = 0; j < layer.d; j++) {
    const vj = v[j]!;
    const row = j * cols;
    for (let i = 0; i < layer.input; i++) f[i]! += vj * layer.E[row + i]!;
  }
  return f;
}
