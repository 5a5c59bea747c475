/**
 * Reading a bilinear MLP's eigenvectors through tokens (paper §5). For an output direction u in
 * the residual stream (a token's unembedding row, or a difference of rows), the MLP's share of
 * uᵀ logits is exactly xᵀ Q_u x on its input x (no normalisation), Q_u = Σ_i λ_i v_i v_iᵀ. Each
 * eigenvector v is read
 *
 *   directly:        score(s) = E[s] · v                 E: (vocab, d), the token embeddings
 *   through head h:  score(s) = (W_O^h W_V^h E[s]) · v   the "virtual token" s written by head h
 *                             = E[s] · (W_V^hᵀ W_O^hᵀ v)  (one d-vector per head, then every token)
 *
 * and a token s alone in the stream raises the output by E[s]ᵀ Q_u E[s] through the MLP, and by
 * u · E[s] more through the direct path (Table 1 of the paper).
 *
 * Matrices are row-major as the weights file stores them: wv (kvHeads·hs, d), wo (d, heads·hs).
 */
import { PipelineError } from '../errors.ts';
import { matmul64 } from '../native/matmul64.ts';

export interface Scored {
  id: number;
  score: number;
}

/**
 * The k largest and k smallest of scores (ties: lower id first), each with its index. One pass that
 * keeps each end sorted: a reading ranks every token of a vocabulary of up to 32,000 many times.
 */
export function extremes(scores: ArrayLike<number>, k: number): { top: Scored[]; bottom: Scored[] } {
  const top: Scored[] = [];
  const bottom: Scored[] = [];
  // inserts s into `kept` (sorted by `before`) when it belongs among its k
  const keep = (kept: Scored[], s: Scored, before: (a: Scored, b: Scored) => boolean) => {
    if (kept.length === k && !before(s, kept[k - 1]!)) return;
    let at = kept.length;
    while (at > 0 && before(s, kept[at - 1]!)) at--;
    kept.splice(at, 0, s);
    if (kept.length > k) kept.pop();
  };
  for (let id = 0; id < scores.length; id++) {
    const score = scores[id]!;
    if (!Number.isFinite(score)) throw new PipelineError(`score of token ${id} is ${score}`);
    if (k === 0) continue;
    const s = { id, score };
    // ids arrive in increasing order, so a tie never goes before an earlier id
    keep(top, s, (a, b) => a.score > b.score);
    keep(bottom, s, (a, b) => a.score < b.score);
  }
  return { top, bottom };
}

/** E · w for E (rows, d) row-major: one score per row. */
export function rowScores(E: ArrayLike<number>, rows: number, d: number, w: ArrayLike<number>): Float64Array {
  if (E.length !== rows * d || w.length !== d)
    throw new PipelineError(`rowScores: E has ${E.length} values for (${rows}, ${d}), w has ${w.length}`);
  if (E instanceof Float64Array) return rowScoresOf(E, rows, d, [w])[0]!;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += E[r * d + i]! * w[i]!;
    out[r] = s;
  }
  return out;
}

/**
 * E · w for each w of ws, in one BLAS product (rows, d) · (d, ws): a reading scores a 32,000-token
 * vocabulary against every eigenvector and head at once.
 */
export function rowScoresOf(
  E: Float64Array,
  rows: number,
  d: number,
  ws: ArrayLike<number>[],
): Float64Array[] {
  if (E.length !== rows * d || ws.some((w) => w.length !== d))
    throw new PipelineError(
      `rowScores: E has ${E.length} values for (${rows}, ${d}), a w is not of length ${d}`,
    );
  const W = new Float64Array(ws.length * d);
  ws.forEach((w, j) => W.set(Array.from(w), j * d));
  const all = matmul64({ data: E, rows, cols: d }, { data: W, rows: ws.length, cols: d, transpose: true });
  return ws.map((_, j) => Float64Array.from({ length: rows }, (_, r) => all[r * ws.length + j]!));
}

/**
 * A head's OV map read backwards: the residual direction a token must have, before the head, to be
 * written along v by it: W_Vᵀ W_Oᵀ v (d), for the head's W_V (hs, d) and W_O (d, hs).
 */
export function ovPullback(
  ov: { wv: ArrayLike<number>; wo: ArrayLike<number> },
  v: ArrayLike<number>,
): Float64Array {
  const d = v.length;
  const hs = ov.wv.length / d;
  if (!Number.isInteger(hs) || ov.wo.length !== d * hs)
    throw new PipelineError(
      `ovPullback: W_V holds ${ov.wv.length} values and W_O ${ov.wo.length}; ` +
        `for d = ${d} both must be d × hs`,
    );
  const w = new Float64Array(hs); // W_Oᵀ v, (hs)
  for (let i = 0; i < d; i++) {
    const vi = v[i]!;
    for (let j = 0; j < hs; j++) w[j]! += ov.wo[i * hs + j]! * vi;
  }
  const out = new Float64Array(d); // W_Vᵀ w, (d)
  for (let j = 0; j < hs; j++) {
    for (let c = 0; c < d; c++) out[c]! += ov.wv[j * d + c]! * w[j]!;
  }
  return out;
}

/**
 * For every token s: X[s]ᵀ Q X[s] (through the MLP alone, X[s] what the MLP reads of it) and u · E[s]
 * (the direct path of its embedding). Without normalisation X is E.
 */
export function tokenOutputs(
  X: ArrayLike<number>,
  E: ArrayLike<number>,
  vocab: number,
  d: number,
  q: Float64Array,
  u: ArrayLike<number>,
): { mlp: Float64Array; direct: Float64Array } {
  const x = X instanceof Float64Array ? X : Float64Array.from(X);
  return { mlp: quadraticForms(x, vocab, d, q), direct: rowScores(E, vocab, d, u) };
}

/** u = Σ weight · U[id] for U (vocab, d). */
export function combineRows(
  U: ArrayLike<number>,
  d: number,
  terms: { id: number; weight: number }[],
): Float64Array {
  const u = new Float64Array(d);
  for (const { id, weight } of terms) for (let i = 0; i < d; i++) u[i]! += weight * U[id * d + i]!;
  return u;
}

/** A held-out position where an eigenvector is most active. */
export interface ContextHit {
  /** Window and position (the MLP at this position predicts the next token). */
  window: number;
  position: number;
  /** λ (v · x)², signed as λ. */
  activation: number;
  /**
   * |λ (v · x)²| over Σ_j |λ_j (v_j · x)²|: its share of the absolute contributions of all eigenvectors
   * there.
   */
  share: number;
  /** xᵀ Q x: the direction's whole MLP output there. */
  total: number;
}

/**
 * For each chosen eigenvector i of Q (values λ, vectors as rows of `vectors`, (n, d)), the `k`
 * positions of X (N positions of T per window, (N, d)) where |λ_i (v_i · x)²| is largest (ties:
 * earlier position first), with its share and the direction's total there. Both sums over all
 * eigenvectors come from matrices: Σ_j λ_j (v_j·x)² = xᵀ Q x and Σ_j |λ_j| (v_j·x)² = xᵀ |Q| x.
 */
export function topContexts(
  X: Float64Array,
  N: number,
  d: number,
  T: number,
  eig: { values: Float64Array; vectors: Float64Array },
  q: Float64Array,
  chosen: number[],
  k: number,
): ContextHit[][] {
  if (X.length !== N * d) throw new PipelineError(`topContexts: X has ${X.length} values for (${N}, ${d})`);
  if (N < k)
    throw new PipelineError(
      `${k} contexts per eigenvector were asked for, but the held-out split has only ${N} positions`,
    );
  const absQ = new Float64Array(d * d); // V |Λ| Vᵀ
  for (let j = 0; j < d; j++) {
    const l = Math.abs(eig.values[j]!);
    for (let a = 0; a < d; a++) {
      const va = l * eig.vectors[j * d + a]!;
      if (va === 0) continue;
      for (let b = 0; b < d; b++) absQ[a * d + b]! += va * eig.vectors[j * d + b]!;
    }
  }
  const totals = quadraticForms(X, N, d, q);
  const absolute = quadraticForms(X, N, d, absQ);
  return chosen.map((i) => {
    const v = eig.vectors.subarray(i * d, (i + 1) * d);
    const lambda = eig.values[i]!;
    const acts = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let p = 0;
      for (let c = 0; c < d; c++) p += X[n * d + c]! * v[c]!;
      acts[n] = lambda * p * p;
    }
    const order = Array.from({ length: N }, (_, n) => n).sort(
      (a, b) => Math.abs(acts[b]!) - Math.abs(acts[a]!) || a - b,
    );
    return order.slice(0, k).map((n) => ({
      window: Math.floor(n / T),
      position: n % T,
      activation: acts[n]!,
      share: absolute[n]! > 0 ? Math.abs(acts[n]!) / absolute[n]! : 0,
      total: totals[n]!,
    }));
  });
}

/** y = xᵀ Q x for every row x of X (N, d), Q (d, d) symmetric: one matrix product. */
export function quadraticForms(X: Float64Array, N: number, d: number, q: Float64Array): Float64Array {
  const XQ = matmul64({ data: X, rows: N, cols: d }, { data: q, rows: d, cols: d });
  const y = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += X[n * d + i]! * XQ[n * d + i]!;
    y[n] = s;
  }
  return y;
}
