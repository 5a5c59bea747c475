/**
 * The statistics of the regularization ablations (reports/ablations.ts), from every run's scores
 * (analysis/ablation.ts): one point per run, the cross-seed statistics of every two seeds of a
 * cell, each cell's mean and 95% interval over seeds for every metric, and correlations over runs.
 * The figures draw these; the report's headline numbers read them.
 */
import type { Artifact } from '../cache/artifact.ts';
import { pairSimilarities } from '../decompose/metrics.ts';
import { METRICS, type MetricName, type RunScores } from './ablation.ts';
import { ablationOf } from './job.ts';
import { mean, pairInterval, tInterval, type Interval } from './stats.ts';

/** A training regime: one cell of the grid, or a comparator. */
export type Regime = {
  id: string;
  /** Short text for rows and legends. */
  label: string;
  kind: 'grid' | 'comparator';
  latentNoise: number;
  weightDecay: number;
  inputNoise: number;
  l1: number;
  dropout: number;
};

/** A trained run of the study, and the input name of its ablation artifact. */
export type AblationRun = {
  dataset: string;
  regime: string;
  seed: number;
  analysis: string;
};

export interface CellValue extends Interval {
  /** For eigenvectors needed: some seed never got within one point by maxK (counted as maxK). */
  censored: boolean;
}

export interface Cell {
  dataset: string;
  regime: Regime;
  values: Record<MetricName, CellValue>;
}

/** One point per run: its scores, its features, and its mean similarity to the other seeds of its cell. */
export interface RunPoint {
  dataset: string;
  regime: Regime;
  seed: number;
  scores: RunScores;
  /** [class][rank] its top features in input space. */
  features: Float64Array[][];
  crossSeedSimilarity: number;
  /** Its analysis's input name: the run's identity. */
  id: string;
}

/** An artifact by its input name. */
export type Lookup = (name: string) => Artifact | undefined;

/** Both cross-seed statistics of two runs' top features (decompose/metrics.ts). */
export type PairStats = { matched: number; mismatched: number };

/** Every run's point, and the cross-seed statistics of every two seeds of one cell (by pairKey). */
export interface StudyPoints {
  points: RunPoint[];
  pairs: ReadonlyMap<string, PairStats>;
}

const pairKey = (a: RunPoint, b: RunPoint) => [a.id, b.id].sort().join('\0');

/** The statistics of two runs of one cell (computed once for every such pair by studyPoints). */
function pairOf(study: StudyPoints, a: RunPoint, b: RunPoint): PairStats {
  const stats = study.pairs.get(pairKey(a, b));
  if (!stats) throw new Error(`no cross-seed statistics for ${a.id} and ${b.id}: not runs of one cell`);
  return stats;
}

/**
 * Scores of every run, with the cross-seed statistics of every pair of seeds of a cell (each pair
 * once) and each run's cross-seed similarity (its mean over the cell's other seeds and over classes).
 */
export function studyPoints(runs: AblationRun[], regimes: Regime[], lookup: Lookup): StudyPoints {
  const points: RunPoint[] = runs.map((run) => {
    const mine = ablationOf(lookup(run.analysis));
    return {
      id: run.analysis,
      dataset: run.dataset,
      regime: regimes.find((g) => g.id === run.regime)!,
      seed: run.seed,
      scores: mine.scores,
      features: mine.features,
      crossSeedSimilarity: Number.NaN,
    };
  });
  const cellOf = (p: RunPoint) => `${p.dataset}\0${p.regime.id}`;
  const pairs = new Map<string, PairStats>();
  for (const [i, a] of points.entries())
    for (const b of points.slice(i + 1))
      if (cellOf(a) === cellOf(b) && a.seed !== b.seed && !pairs.has(pairKey(a, b)))
        pairs.set(pairKey(a, b), pairSimilarities(a.features, b.features));
  const study = { points, pairs };
  for (const point of points) {
    const others = points.filter((o) => cellOf(o) === cellOf(point) && o.seed !== point.seed);
    if (others.length > 0)
      point.crossSeedSimilarity =
        others.reduce((s, o) => s + pairOf(study, point, o).matched, 0) / others.length;
  }
  return study;
}

/**
 * The points of distinct trained models: a comparator with every strength 0 ("none") is the same
 * job as the grid's (0, 0) cell when the grid has one, so its points would count those runs twice.
 */
export function distinctRuns(points: RunPoint[]): RunPoint[] {
  const off = (r: Regime) =>
    r.latentNoise === 0 && r.weightDecay === 0 && r.inputNoise === 0 && r.l1 === 0 && r.dropout === 0;
  const gridHasCorner = points.some((p) => p.regime.kind === 'grid' && off(p.regime));
  return points.filter((p) => !(gridHasCorner && p.regime.kind === 'comparator' && off(p.regime)));
}

/**
 * Mean and 95% interval over seeds of every metric, per data set and regime: t intervals for the
 * per-run scores; for the cross-seed statistics (same class, the class-mismatched null, and their
 * difference), the mean over every pair of the cell's seeds with a leave-one-seed-out jackknife
 * interval (none with 2 seeds: one pair).
 */
export function summarizeCells(study: StudyPoints, maxK: number): Cell[] {
  const { points } = study;
  const keys = [...new Set(points.map((p) => `${p.dataset}\0${p.regime.id}`))];
  return keys.map((key) => {
    const mine = points.filter((p) => `${p.dataset}\0${p.regime.id}` === key).sort((a, b) => a.seed - b.seed);
    const pair = (i: number, j: number) => pairOf(study, mine[i]!, mine[j]!);
    const crossSeed = {
      crossSeedSimilarity: pairInterval(mine.length, (i, j) => pair(i, j).matched),
      crossSeedNull: pairInterval(mine.length, (i, j) => pair(i, j).mismatched),
      crossSeedGain: pairInterval(mine.length, (i, j) => pair(i, j).matched - pair(i, j).mismatched),
    };
    const values = Object.fromEntries(
      (Object.keys(METRICS) as MetricName[]).map((name) => {
        if (name in crossSeed)
          return [name, { ...crossSeed[name as keyof typeof crossSeed], censored: false }];
        const raw = mine.map((p) => p.scores[name as keyof RunScores]);
        return [name, { ...tInterval(raw.map((x) => x ?? maxK)), censored: raw.some((x) => x === null) }];
      }),
    ) as Record<MetricName, CellValue>;
    return { dataset: mine[0]!.dataset, regime: mine[0]!.regime, values };
  });
}

/** The values each metric can take: where its intervals are cut (a |cos| lies in [0, 1]). */
export function metricRange(metric: MetricName, maxK: number): [number, number] {
  switch (metric) {
    case 'accuracy':
    case 'featureSupport':
    case 'peripheryMass':
    case 'crossSeedSimilarity':
    case 'crossSeedNull':
      return [0, 1];
    case 'crossSeedGain':
      return [-1, 1];
    case 'effectiveRank':
      return [1, Infinity];
    case 'totalVariation':
      return [0, Infinity];
    case 'eigenvectorsNeeded':
      return [1, maxK];
  }
}

/** Pearson correlation over runs (NaN when either side is constant). */
export function correlation(xs: number[], ys: number[]): number {
  const n = xs.length;
  const [mx, my] = [mean(xs), mean(ys)];
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}
