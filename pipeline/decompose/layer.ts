/**
 * A bilinear layer's weights in float64, checked once at the boundary of the decomposition
 * engine: shapes that fit each other, and only finite values.
 *
 *   e = E x + b_E (E: d×in, or none),  h = (W e + b_W) ⊙ (V e + b_V) (W, V: m×d),  out = P h + b_P
 *
 * Biases are folded into a constant input (paper §3, footnote on biases): the embedded input gains
 * a last coordinate fixed at 1, W and V gain b_W and b_V as a last column, and b_P becomes the
 * constant term of each interaction matrix (see interaction.ts). A layer with biases is then a
 * bias-free layer of width d + 1, and everything downstream handles one case.
 */
import { PipelineError } from '../errors.ts';

export interface BilinearLayer {
  /** Width of the (embedded) input e, including the constant coordinate when there is one. */
  d: number;
  m: number;
  c: number;
  /** Input dimension before the embedding, without the constant coordinate. */
  input: number;
  W: Float64Array; // (m, d)
  V: Float64Array; // (m, d)
  P: Float64Array; // (c, m)
  /** (d, input + 1 if constant else input); null when e = x. */
  E: Float64Array | null;
  /** True when biases were folded in: e's last coordinate is the constant 1. */
  constant: boolean;
  /** b_P, the output bias (c), or null. */
  outBias: Float64Array | null;
}

export type Matrix = { data: ArrayLike<number>; rows: number; cols: number };

export interface Biases {
  E?: ArrayLike<number>; // (d)
  W?: ArrayLike<number>; // (m)
  V?: ArrayLike<number>; // (m)
  P?: ArrayLike<number>; // (c)
}

export function bilinearLayer(parts: {
  W: Matrix;
  V: Matrix;
  P: Matrix;
  E?: Matrix | null;
  biases?: Biases;
}): BilinearLayer {
  const { W, V, P } = parts;
  const E = parts.E ?? null;
  for (const [name, t] of Object.entries({ W, V, P, ...(E ? { E } : {}) })) checkMatrix(name, t);
  if (W.rows !== V.rows || W.cols !== V.cols) {
    throw new PipelineError(
      `W is ${W.rows}×${W.cols} but V is ${V.rows}×${V.cols}; they must have the same shape (m×d)`,
    );
  }
  if (P.cols !== W.rows)
    throw new PipelineError(`P is ${P.rows}×${P.cols} but W has m = ${W.rows} rows; P must be c×${W.rows}`);
  if (E && E.rows !== W.cols)
    throw new PipelineError(
      `E is ${E.rows}×${E.cols} but W has d = ${W.cols} columns; E must be ${W.cols}×input`,
    );
  const [d, m, c] = [W.cols, W.rows, P.rows];
  const biases = checkBiases(parts.biases ?? {}, { E: E ? d : 0, W: m, V: m, P: c });
  const plain = {
    d,
    m,
    c,
    input: E ? E.cols : d,
    W: Float64Array.from(W.data),
    V: Float64Array.from(V.data),
    P: Float64Array.from(P.data),
    E: E ? Float64Array.from(E.data) : null,
    constant: false,
    outBias: null,
  };
  return Object.keys(biases).length === 0 ? plain : foldBiases(plain, biases);
}

function checkBiases(biases: Biases, sizes: Record<keyof Biases, number>): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, b] of Object.entries(biases) as [keyof Biases, ArrayLike<number> | undefined][]) {
    if (b === undefined) continue;
    if (sizes[name] === 0) throw new PipelineError(`a bias b_${name} was given but the layer has no ${name}`);
    if (b.length !== sizes[name])
      throw new PipelineError(`bias b_${name} has length ${b.length}, expected ${sizes[name]}`);
    checkMatrix(`b_${name}`, { data: b, rows: 1, cols: b.length });
    out[name] = Float64Array.from(b);
  }
  return out;
}

/** The same layer with biases as a constant input coordinate (index d of the result's e). */
function foldBiases(layer: BilinearLayer, biases: Record<string, Float64Array>): BilinearLayer {
  const { d, m, input } = layer;
  const d1 = d + 1;
  const widen = (M: Float64Array, bias: Float64Array | undefined) => {
    const out = new Float64Array(m * d1);
    for (let k = 0; k < m; k++) {
      out.set(M.subarray(k * d, (k + 1) * d), k * d1);
      out[k * d1 + d] = bias?.[k] ?? 0;
    }
    return out;
  };
  let E: Float64Array | null = null;
  if (layer.E) {
    // E' = [[E, b_E], [0, 1]]: (d + 1) × (input + 1), acting on x' = [x; 1].
    E = new Float64Array(d1 * (input + 1));
    for (let j = 0; j < d; j++) {
      E.set(layer.E.subarray(j * input, (j + 1) * input), j * (input + 1));
      E[j * (input + 1) + input] = biases['E']?.[j] ?? 0;
    }
    E[d * (input + 1) + input] = 1;
  }
  return {
    ...layer,
    d: d1,
    W: widen(layer.W, biases['W']),
    V: widen(layer.V, biases['V']),
    E,
    constant: true,
    outBias: biases['P'] ?? null,
  };
}

function checkMatrix(name: string, t: Matrix): void {
  if (t.data.length !== t.rows * t.cols) {
    throw new PipelineError(`${name} claims shape ${t.rows}×${t.cols} but holds ${t.data.length} values`);
  }
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) {
      throw new PipelineError(
        `${name} has a non-finite value (${t.data[i]}) at [${Math.floor(i / t.cols)}, ` +
          `${i % t.cols}]; refusing to decompose`,
        {
          hint: 'the training run that produced these weights diverged; retrain with a lower learning rate',
        },
      );
    }
  }
}

/**
 * The embedded input e = E x (or x itself without an embedding), with the constant 1 appended when biases
 * were folded.
 */
export function embed(layer: BilinearLayer, x: ArrayLike<number>): Float64Array {
  if (x.length !== layer.input)
    throw new PipelineError(`input has length ${x.length}, the layer expects ${layer.input}`);
  const cols = layer.input + (layer.constant ? 1 : 0);
  const xs = layer.constant ? Float64Array.from([...Array.from(x), 1]) : x;
  if (!layer.E) return Float64Array.from(xs);
  const e = new Float64Array(layer.d);
  for (let j = 0; j < layer.d; j++) {
    let s = 0;
    for (let i = 0; i < cols; i++) s += layer.E[j * cols + i]! * xs[i]!;
    e[j] = s;
  }
  return e;
}

/** The layer's output P((W e) ⊙ (V e)) + b_P for one input, in float64 (the reference forward pass). */
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
    let s = layer.outBias?.[a] ?? 0;
    for (let k = 0; k < m; k++) s += layer.P[a * m + k]! * h[k]!;
    out[a] = s;
  }
  return out;
}
