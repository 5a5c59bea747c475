/**
 * Maximum-weight perfect matching of a square matrix (the Hungarian algorithm, O(n³), in the
 * shortest-augmenting-path form of Jonker–Volgenant). Used to pair eigenvectors of two models
 * one to one, so that similarity is never inflated by two features matching the same one.
 */

/** assignment[i] = the column matched to row i, maximising Σ_i w[i][assignment[i]]. */
export function maxWeightMatching(weights: number[][]): number[] {
  const n = weights.length;
  if (weights.some((row) => row.length !== n))
    throw new Error(
      `matching needs a square matrix, got ${n} rows of lengths ${weights.map((r) => r.length).join(', ')}`,
    );
  if (n === 0) return [];
  const max = Math.max(...weights.flat());
  const cost = (i: number, j: number) => max - weights[i]![j]!; // minimise cost = maximise weight
  const INF = Number.POSITIVE_INFINITY;
  // 1-based potentials and matching as in the classic formulation; p[j] = row matched to column j.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(INF);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = INF;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const assignment = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j]! > 0) assignment[p[j]! - 1] = j - 1;
  return assignment;
}
