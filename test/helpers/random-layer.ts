/** Random bilinear layers for tests, seeded. */
import { bilinearLayer, type BilinearLayer } from '../../pipeline/decompose/layer.ts';
import { Rng } from '../../pipeline/util/random.ts';

export function randomLayer(
  seed: number,
  { d, m, c, input }: { d: number; m: number; c: number; input?: number },
): BilinearLayer {
  const rng = new Rng(seed);
  const matrix = (rows: number, cols: number) => ({
    data: Float64Array.from({ length: rows * cols }, () => rng.normal()),
    rows,
    cols,
  });
  return bilinearLayer({
    W: matrix(m, d),
    V: matrix(m, d),
    P: matrix(c, m),
    E: input === undefined ? null : matrix(d, input),
  });
}

export function randomVector(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}
