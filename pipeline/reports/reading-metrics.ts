/**
 * The numbers prose quotes from the language readings (analysis/language-readings.ts), their
 * explained-by-k curves and truncated loss, for every report that reads a transformer's MLP from its weights.
 */
import { requireTensor, type Artifact } from '../cache/artifact.ts';
import { contextSpecificity } from '../analysis/context-specificity.ts';
import type { CurvesMeta } from '../analysis/language-curves.ts';
import type { ReadingsMeta } from '../analysis/language-readings.ts';
import type { TruncationMeta } from '../analysis/language-truncation.ts';
import { mean } from '../analysis/stats.ts';
import { CURVE_METHODS, curveInterval, type CurveMethod } from '../figures/explained-curves.ts';
import { numberMetric, percentMetric, withInterval, type Metric } from './spec.ts';

/**
 * The headline of the curves: the correlation at k = 1, 2, 4, 8 of each method, mean over directions with its
 * interval.
 */
export function curveMetrics(meta: CurvesMeta): Record<string, Metric> {
  const out: Record<string, Metric> = {
    'curves-positions': {
      label: 'held-out positions the curves are over',
      value: meta.positions,
      format: 'number',
      digits: 0,
    },
    'curves-directions': {
      label: 'output directions the curves average over',
      value: meta.directions.length,
      format: 'number',
      digits: 0,
    },
    'curves-draws': {
      label: 'random draws per direction',
      value: meta.settings.draws,
      format: 'number',
      digits: 0,
    },
  };
  for (const k of [1, 2, 4, 8].filter((k) => k <= meta.K)) {
    for (const method of Object.keys(CURVE_METHODS) as CurveMethod[]) {
      for (const measure of ['correlation', 'correlationTop'] as const) {
        const iv = curveInterval(meta.directions, method, measure, k - 1);
        const name = `${measure === 'correlation' ? 'corr' : 'corr-top'}-${method}-k${k}`;
        out[name] = withInterval(
          {
            label:
              'correlation with the MLP activation' +
              (measure === 'correlationTop' ? ' on its top positions' : '') +
              `, ${CURVE_METHODS[method]}, k = ${k}`,
            value: iv.mean,
            format: 'number',
            digits: 2,
          },
          iv,
          'output directions',
          [-1, 1],
        );
      }
    }
  }
  return out;
}

/** Numbers of the readings for prose: how many directions, and what "girl" (the paper's Table 1) reads. */
export function readingMetrics(artifact: Artifact<ReadingsMeta>): Record<string, Metric> {
  const { meta } = artifact;
  // the two eigenvalues of largest |λ| of each direction: opposite signs make a ± pair
  const tops = meta.directions.map((_, i) =>
    Array.from(requireTensor(artifact, `direction${i}.values`, 'readings').data.subarray(0, 2)),
  );
  const pairs = tops.filter(([a, b]) => a! * b! < 0).length;
  const girl = meta.directions.find((r) => r.slug === 'girl')!;
  const ranks = meta.directions.map((r) => r.effectiveRank);
  const text = (label: string, words: string[]): Metric => ({
    label,
    value: words.length,
    format: 'number',
    digits: 0,
    text: words.map((w) => `“${w.trim() || w}”`).join(', '),
  });
  return {
    'readings-directions': numberMetric('output directions read', meta.directions.length, 0),
    'residual-dim': numberMetric('dimensions of the residual stream (the MLP input)', meta.d, 0),
    'readings-positions': numberMetric('held-out positions scanned for contexts', meta.positions, 0),
    'identity-positions': numberMetric(
      "held-out positions where x̂ᵀ Q_u x̂ is checked against the model's own uᵀ MLP(x̂)",
      meta.identity.positions,
      0,
    ),
    'identity-error-ppm': numberMetric(
      'the largest difference there, over every direction read, in millionths of the activation RMS',
      meta.identity.maxRelativeError * 1e6,
      1,
    ),
    'girl-effective-rank': numberMetric('effective rank of Q_u for "girl"', girl.effectiveRank, 1),
    'pair-directions': numberMetric(
      'output directions whose two largest eigenvalues (by |λ|) have opposite signs',
      pairs,
      0,
    ),
    'girl-eigenvalue-1': numberMetric(
      'the eigenvalue of largest |λ| of Q_u for "girl"',
      tops[meta.directions.indexOf(girl)]![0]!,
      2,
    ),
    'girl-eigenvalue-2': numberMetric(
      'the eigenvalue of second largest |λ| of Q_u for "girl"',
      tops[meta.directions.indexOf(girl)]![1]!,
      2,
    ),
    'girl-positive': numberMetric('positive eigenvalues of Q_u for "girl"', girl.positive, 0),
    'girl-negative': numberMetric('negative eigenvalues of Q_u for "girl"', girl.negative, 0),
    'effective-rank-min': numberMetric(
      'smallest effective rank among the output directions',
      Math.min(...ranks),
      1,
    ),
    'effective-rank-max': numberMetric(
      'largest effective rank among the output directions',
      Math.max(...ranks),
      1,
    ),
    'girl-mlp-top': text(
      'tokens that alone most raise "girl" through the MLP',
      girl.tokensThroughMlp.top.slice(0, 5).map((t) => t.text),
    ),
    'girl-mlp-bottom': text(
      'tokens that alone most lower "girl" through the MLP',
      girl.tokensThroughMlp.bottom.slice(0, 5).map((t) => t.text),
    ),
    'girl-top-direct': text(
      'tokens the top eigenvector of "girl" aligns with directly',
      (girl.eigenvectors[0]?.direct.top ?? []).slice(0, 5).map((t) => t.text),
    ),
    ...contextMetrics(meta),
  };
}

/** How specific the readings' held-out contexts are to their tokens (analysis/context-specificity.ts). */
function contextMetrics(meta: ReadingsMeta): Record<string, Metric> {
  const s = contextSpecificity(meta.directions);
  const top = s.shared[0];
  const shares = s.sharedShare;
  return {
    'contexts-shared-threshold': numberMetric(
      'directions a position must top to count as shared',
      s.threshold,
      0,
    ),
    'contexts-shared-positions': numberMetric(
      'held-out positions shared by the top contexts of most directions',
      s.shared.length,
      0,
    ),
    'contexts-shared-mean': percentMetric(
      "share of a direction's top contexts at shared positions (mean over directions)",
      mean(shares),
      0,
    ),
    'contexts-shared-max': percentMetric('the largest such share of one direction', Math.max(...shares), 0),
    'contexts-shared-top-directions': numberMetric(
      'directions whose top contexts include the most widely shared position',
      top?.directions ?? 0,
      0,
    ),
    'contexts-shared-top-text': {
      label: 'the most widely shared position, as a context shows it',
      value: top?.directions ?? 0,
      format: 'number',
      digits: 0,
      text: top ? `“…${top.context.before}⟦${top.context.token}⟧ → ${top.context.next}”` : 'none',
    },
  };
}

/** The truncated losses for prose: the model's own, without the MLP, and each method at each k. */
export function truncationMetrics(meta: TruncationMeta): Record<string, Metric> {
  const out: Record<string, Metric> = {
    'truncation-full': numberMetric('held-out loss of the model on the truncation positions', meta.full, 3),
    'truncation-no-mlp': numberMetric('held-out loss without the MLP', meta.noMlp, 3),
    'truncation-positions': numberMetric('held-out positions of the truncated loss', meta.positions),
    'truncation-forward': numberMetric(
      'held-out loss of the model on the truncation positions, by its forward pass',
      meta.forward,
      3,
    ),
    'truncation-tokens': numberMetric('output tokens truncated', meta.tokens),
    'truncation-target-share': percentMetric(
      'held-out positions whose next token is a truncated one',
      meta.targetShare,
      1,
    ),
  };
  for (const l of meta.losses)
    for (const m of ['eigen', 'random', 'pca'] as const)
      out[`truncation-${m}-k${l.k}`] = numberMetric(
        `held-out loss with the MLP read through k = ${l.k} directions (${m})`,
        l[m],
        3,
      );
  return out;
}
