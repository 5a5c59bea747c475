/**
 * A bilinear layer's weights in float64, checked once at the boundary of the decomposition
 * engine: shapes that fit each other, and only finite values.
 *
 *   e = E x (E: d×in, or none),  h = (W e) ⊙ (V e) (W, V: m×d),  out = P h (P: c×m)
 */
import { PipelineError } from '../errors.ts';

export interface BilinearLayer {
  d: number;
  m: number;
  c: number;
  /** Input dimension before the embedding (= d without one). */
  input: number;
  W: Float64Array; // (m, d)
  V: Float64Array; // (m, d)
  P: Float64Array; // (c, m)
  E: Float64Array | null; // (d, input)
}

type Matrix = { data: ArrayLike<number>; rows: number; cols: number };

export function bilinearLayer(parts: { W: Matrix; V: Matrix; P: Matrix; E?: Matrix | null }): BilinearLayer {
  const { W, V, P } = parts;
  const E = parts.E ?? null;
  for (const [name, t] of Object.entries({ W, V, P, ...(E ? { E } : {}) })) checkMatrix(name, t);
  if (W.rows !== V.rows || W.cols !== V.cols) {
    throw new PipelineError(`W is ${W.rows}×${W.cols} but V is ${V.rows}×${V.cols}; they must have the same shape (m×d)`);
  }
  if (P.cols !== W.rows) throw new PipelineError(`P is ${P.rows}×${P.cols} but W has m = ${W.rows} rows; P must be c×${W.rows}`);
  if (E && E.rows !== W.cols) throw new PipelineError(`E is ${E.rows}×${E.cols} but W has d = ${W.cols} columns; E must be ${W.cols}×input`);
  return {
    d: W.cols,
    m: W.rows,
    c: P.rows,
    input: E ? E.cols : W.cols,
    W: Float64Array.from(W.data),
    V: Float64Array.from(V.data),
    P: Float64Array.from(P.data),
    E: E ? Float64Array.from(E.data) : null,
  };
}

function checkMatrix(name: string, t: Matrix): void {
  if (t.data.length !== t.rows * t.cols) {
    throw new PipelineError(`${name} claims shape ${t.rows}×${t.cols} but holds ${t.data.length} values`);
  }
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) {
      throw new PipelineError(`${name} has a non-finite value (${t.data[i]}) at [${Math.floor(i / t.cols)}, ${i % t.cols}]; refusing to decompose`, {
        hint: 'the training run that produced these weights diverged; retrain with a lower learning rate',
      });
    }
  }
}

/** The embedded input e = E x (or x itself without an embedding). */
export function embed(layer: BilinearLayer, x: ArrayLike<number>): Float64Array {
  if (x.length !== layer.input) throw new PipelineError(`input has length ${x.length}, the layer expects ${layer.input}`);
  if (!layer.E) return Float64Array.from(x);
  const e = new Float64Array(layer.d);
  for (let j = 0; j < layer.d; j++) {
    let s = 0;
    for (let i = 0; i < layer.input; i++) s += layer.E[j * layer.input + i]! * x[i]!;
    e[j] = s;
  }
  return e;
}

/** The layer's output P((W e) ⊙ (V e)) for one input, in float64 (the reference forward pass). */
export function layerOutput(layer: BilinearLayer, x: ArrayLike<number>): Float64Array {
  const e = embed(layer, x);
  const { d, m, c } = layer;
  const h = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let we = 0;
    let ve = 0;
    for (let j = 0; j < d; j++) {
      we += layer.W[k * d + j]! * e[j]!;
      ve += layer.V[k * d + j]! * e[j]!;
    }
    h[k] = we * ve;
  }
  const out = new Float64Array(c);
  for (let a = 0; a < c; a++) {
    let s = 0;
    for (let k = 0; k < m; k++) s += layer.P[a * m + k]! * h[k]!;
    out[a] = s;
  }
  return out;
}
