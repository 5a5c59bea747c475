/**
 * The ablations' statistics (analysis/ablation-study.ts) against a second way of computing them:
 * each pair of seeds of a cell is compared once, a run's cross-seed similarity is the mean over
 * its cell's other seeds, and a cell's mean is the mean over its pairs; no run is paired with
 * itself or with a run of another cell.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunScores } from '../../pipeline/analysis/ablation.ts';
import { studyPoints, summarizeCells, type Regime } from '../../pipeline/analysis/ablation-study.ts';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import { pairSimilarities } from '../../pipeline/decompose/metrics.ts';
import { tensor } from '../../pipeline/tensors/safetensors.ts';
import { Rng } from '../../pipeline/util/random.ts';
import { assertClose } from '../helpers/close.ts';

const [CLASSES, TOP, INPUT] = [3, 2, 5];
const regime = (id: string, latentNoise: number): Regime => ({
  id,
  label: id,
  kind: 'grid',
  latentNoise,
  weightDecay: 0,
  inputNoise: 0,
  l1: 0,
  dropout: 0,
});
const REGIMES = [regime('a', 0), regime('b', 1)];
const SCORES: RunScores = {
  accuracy: 0.9,
  effectiveRank: 4,
  featureSupport: 0.5,
  peripheryMass: 0.1,
  totalVariation: 10,
  eigenvectorsNeeded: 3,
};

/** An ablation artifact with random features, as analysis/job.ts writes one. */
function artifact(rng: Rng): Artifact {
  const features = Float64Array.from({ length: CLASSES * TOP * INPUT }, () => rng.normal());
  return {
    kind: 'analysis/ablation',
    meta: { scores: SCORES },
    tensors: {
      features: tensor(features, [CLASSES, TOP, INPUT]),
      topPositive: tensor(new Float64Array(CLASSES * INPUT), [CLASSES, INPUT]),
      topPositiveValues: tensor(new Float64Array(CLASSES), [CLASSES]),
    },
    files: {},
  };
}

test("cross-seed statistics: every pair of a cell once, means over a run's other seeds and over a cell's pairs", () => {
  const rng = new Rng(1);
  const runs = REGIMES.flatMap((r) =>
    [0, 1, 2].map((seed) => ({ dataset: 'mnist', regime: r.id, seed, analysis: `${r.id}-${seed}` })),
  );
  const artifacts = Object.fromEntries(runs.map((r) => [r.analysis, artifact(rng)]));
  const study = studyPoints(runs, REGIMES, (name) => artifacts[name]);
  assert.equal(study.pairs.size, 2 * 3, 'three pairs in each of two cells, none across cells');
  const features = (id: string) => study.points.find((p) => p.id === id)!.features;
  const matched = (a: string, b: string) => pairSimilarities(features(a), features(b)).matched;
  for (const point of study.points) {
    const others = [0, 1, 2].filter((s) => s !== point.seed).map((s) => `${point.regime.id}-${s}`);
    const expected = others.reduce((sum, o) => sum + matched(point.id, o), 0) / others.length;
    assertClose(point.crossSeedSimilarity, expected, { atol: 1e-12, label: `${point.id}'s similarity` });
  }
  const cells = summarizeCells(study, 10);
  for (const cell of cells) {
    const id = cell.regime.id;
    const pairs = [
      matched(`${id}-0`, `${id}-1`),
      matched(`${id}-0`, `${id}-2`),
      matched(`${id}-1`, `${id}-2`),
    ];
    assertClose(cell.values.crossSeedSimilarity.mean, pairs.reduce((s, x) => s + x, 0) / 3, {
      atol: 1e-12,
      label: `cell ${id}: mean over its pairs`,
    });
    assert.equal(cell.values.accuracy.mean, 0.9);
  }
});
