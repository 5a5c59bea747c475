/**
 * Regularization ablations: which training choices make eigenvector features interpretable. For
 * MNIST and Fashion-MNIST, a grid of latent noise × decoupled weight decay, plus comparators that
 * replace both with another regularizer (input noise, L1 on the weights, dropout on the hidden
 * layer) or with none; every run scored by the same metrics (analysis/ablation.ts). Each run is
 * its own cached job, so adding a cell trains only that cell.
 */
import { z } from 'zod';
import {
  CELL_ONLY_METRICS,
  METRICS,
  type AblationSettings,
  type MetricName,
  type RunScores,
} from '../analysis/ablation.ts';
import { ablationJob } from '../analysis/job.ts';
import type { Artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import { FASHION_MNIST } from '../data/sources.ts';
import { classEigenJob } from '../decompose/job.ts';
import { PipelineError } from '../errors.ts';
import {
  correlation,
  distinctRuns,
  metricRange,
  studyPoints,
  summarizeCells,
  type AblationRun,
  type Cell,
  type Regime,
} from '../analysis/ablation-study.ts';
import {
  ablationAccuracyScatter,
  ablationComparatorGallery,
  ablationComparatorTable,
  ablationGridGallery,
  ablationHeatmap,
  kebab,
} from '../figures/ablations.ts';
import { figure } from '../figures/job.ts';
import { bilinearClassifier } from '../models/bilinear-classifier.ts';
import type { ProfileName } from '../profiles.ts';
import { classification } from '../tasks/classification.ts';
import { trainJob, type ModelMeta } from '../train/job.ts';
import type { TrainSettings } from '../train/trainer.ts';
import { IMAGE_SHAPE, IMAGE_TRAINING, studyData } from './image-report.ts';
import {
  censoredNeededText,
  withInterval,
  type FigurePlan,
  type Metric,
  type ModelPlan,
  type PlanContext,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';

const strength = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .finite(`${what} must be finite`)
    .nonnegative(`${what} must be ≥ 0`);
const whole = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be ≥ 1`);

/** A study's settings for one profile; checked at plan time, before anything trains. */
const studySchema = z
  .object({
    latentNoise: z
      .array(strength('a latent noise level'))
      .min(1, 'the grid needs at least one latent noise level'),
    weightDecay: z.array(strength('a weight decay')).min(1, 'the grid needs at least one weight decay'),
    /** The grid cell the comparators sit beside (must be in the grid). */
    middle: z.object({
      latentNoise: strength('the middle latent noise'),
      weightDecay: strength('the middle weight decay'),
    }),
    /** Each comparator replaces latent noise and weight decay; "none" (no regularization) is always added. */
    comparators: z.object({
      inputNoise: strength('input noise'),
      l1: strength('the L1 coefficient'),
      dropout: strength('the dropout rate').max(0.95, 'the dropout rate must be below 1 (0.95 at most)'),
    }),
    seeds: z
      .array(z.number().int('a seed must be a whole number').nonnegative('a seed must be ≥ 0'))
      .min(
        3,
        'at least 3 seeds per cell are needed: cross-seed similarity gets its ' +
          'interval from pairs of seeds (a leave-one-seed-out jackknife)',
      ),
    embed: whole('embed'),
    hidden: whole('hidden'),
    epochs: z.object({ mnist: whole('epochs'), 'fashion-mnist': whole('epochs') }),
    /**
     * Training and test set caps per data set (stratified samples; the validation split is carved first, the
     * same in every report).
     */
    caps: z.object({
      mnist: z.object({
        trainLimit: whole('trainLimit').optional(),
        testLimit: whole('testLimit').optional(),
      }),
      'fashion-mnist': z.object({
        trainLimit: whole('trainLimit').optional(),
        testLimit: whole('testLimit').optional(),
      }),
    }),
    /**
     * Scores of each run: its top features, the largest k for eigenvectors needed, and the validation images
     * accuracy is measured on.
     */
    analysis: z.object({
      topFeatures: whole('topFeatures'),
      maxK: whole('maxK'),
      validationSample: whole('validationSample'),
    }),
    /** The class shown in the grid galleries, per data set. */
    galleryClass: z.object({
      mnist: z.number().int().min(0).max(9),
      'fashion-mnist': z.number().int().min(0).max(9),
    }),
  })
  .superRefine((s, ctx) => {
    for (const field of ['latentNoise', 'weightDecay', 'seeds'] as const) {
      const seen = new Set<number>();
      s[field].forEach((x, i) => {
        if (seen.has(x)) ctx.addIssue({ code: 'custom', path: [field, i], message: `${x} is listed twice` });
        seen.add(x);
      });
    }
    for (const field of ['latentNoise', 'weightDecay'] as const) {
      if (!s[field].includes(s.middle[field]))
        ctx.addIssue({
          code: 'custom',
          path: ['middle', field],
          message: `${s.middle[field]} is not one of the grid's values (${s[field].join(', ')})`,
        });
    }
    if (s.analysis.maxK > s.embed)
      ctx.addIssue({
        code: 'custom',
        path: ['analysis', 'maxK'],
        message: `${s.analysis.maxK} is larger than the layer's dimension d = ${s.embed}`,
      });
  });

export type StudyProfile = z.infer<typeof studySchema>;

const GRID = { latentNoise: [0, 0.1, 0.33, 0.66, 1.0], weightDecay: [0, 0.1, 0.5, 1.0] };
const MIDDLE = { latentNoise: 0.33, weightDecay: 0.5 };
/** Moderate strengths: input noise as in the image reports; L1 and dropout at common values. */
const COMPARATORS = { inputNoise: 0.3, l1: 1e-5, dropout: 0.2 };
const GALLERY_CLASS = { mnist: 3, 'fashion-mnist': 7 };

const PROFILES: Record<ProfileName, unknown> = {
  // A 2 × 2 corner of the grid (with the middle cell), tiny models: seconds.
  smoke: {
    latentNoise: [0, 0.33],
    weightDecay: [0, 0.5],
    middle: MIDDLE,
    comparators: COMPARATORS,
    seeds: [0, 1, 2],
    embed: 16,
    hidden: 16,
    epochs: { mnist: 1, 'fashion-mnist': 1 },
    caps: { mnist: {}, 'fashion-mnist': {} },
    analysis: { topFeatures: 3, maxK: 16, validationSample: 200 },
    galleryClass: GALLERY_CLASS,
  },
  // 2 data sets × (20 cells + 3 comparators) × 3 seeds = 138 runs (the "none" comparator is the
  // grid's (0, 0) cell, trained once); d = m = 100, sized to the site's build budget (DESIGN.md).
  // Three seeds: the fewest that give cross-seed similarity an interval over seed pairs.
  default: {
    ...GRID,
    middle: MIDDLE,
    comparators: COMPARATORS,
    seeds: [0, 1, 2],
    embed: 100,
    hidden: 100,
    epochs: { mnist: 10, 'fashion-mnist': 10 },
    // 10,000-image samples of each training set; scores on 2,000 validation images: 138 runs must
    // fit the budget. The test split is not read by the study (it chooses settings).
    caps: { mnist: { trainLimit: 10_000 }, 'fashion-mnist': { trainLimit: 10_000 } },
    analysis: { topFeatures: 3, maxK: 50, validationSample: 2_000 },
    galleryClass: GALLERY_CLASS,
  },
  // The paper's image-model sizes and epochs, three seeds, full data.
  paper: {
    ...GRID,
    middle: MIDDLE,
    comparators: COMPARATORS,
    seeds: [0, 1, 2],
    embed: 300,
    hidden: 1000,
    epochs: { mnist: 100, 'fashion-mnist': 100 },
    caps: { mnist: {}, 'fashion-mnist': {} },
    analysis: { topFeatures: 3, maxK: 100, validationSample: 5_000 },
    galleryClass: GALLERY_CLASS,
  },
};

/** The profile's settings, or a plan-time error naming the field that is wrong. */
export function checkStudy(raw: unknown, profile: string): StudyProfile {
  const parsed = studySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  throw new PipelineError(`ablations (${profile} profile): ${path || 'settings'}: ${issue.message}`, {
    exitCode: 2,
    hint: 'fix the study settings in pipeline/reports/ablations.ts',
  });
}

function number(x: number): string {
  return String(x).replace('.', 'p');
}

/** The grid's cells, then the comparators ("none" last). */
export function regimesOf(p: StudyProfile): Regime[] {
  const base = { inputNoise: 0, l1: 0, dropout: 0 };
  const grid: Regime[] = p.latentNoise.flatMap((latentNoise) =>
    p.weightDecay.map((weightDecay) => ({
      id: `latent-${number(latentNoise)}-decay-${number(weightDecay)}`,
      label: `σ ${latentNoise} + decay ${weightDecay}`,
      kind: 'grid' as const,
      ...base,
      latentNoise,
      weightDecay,
    })),
  );
  const off = { kind: 'comparator' as const, ...base, latentNoise: 0, weightDecay: 0 };
  return [
    ...grid,
    {
      ...off,
      id: 'input-noise',
      label: `input noise ${p.comparators.inputNoise}`,
      inputNoise: p.comparators.inputNoise,
    },
    { ...off, id: 'l1', label: `L1 ${p.comparators.l1.toExponential()}`, l1: p.comparators.l1 },
    { ...off, id: 'dropout', label: `dropout ${p.comparators.dropout}`, dropout: p.comparators.dropout },
    { ...off, id: 'none', label: 'none' },
  ];
}

export function middleId(p: StudyProfile): string {
  return `latent-${number(p.middle.latentNoise)}-decay-${number(p.middle.weightDecay)}`;
}

/**
 * A regime's training settings. Fields that are off are left out, so a regime's job key depends
 * only on what it uses: "none" and the grid's (0, 0) cell are the same job.
 */
export function trainSettings(regime: Regime, epochs: number, seed: number): TrainSettings {
  return {
    ...IMAGE_TRAINING,
    epochs,
    seed,
    // The runs publish no training curves: evaluate once, after the last epoch.
    evaluate: 'last-epoch',
    latentNoise: regime.latentNoise,
    weightDecay: regime.weightDecay,
    inputNoise: regime.inputNoise,
    ...(regime.l1 > 0 ? { l1: regime.l1 } : {}),
    ...(regime.dropout > 0 ? { dropout: regime.dropout } : {}),
  };
}

/** The study's jobs: one training, decomposition and metrics job per data set × regime × seed. */
export function planStudy(ctx: PlanContext, p: StudyProfile) {
  const regimes = regimesOf(p);
  const settings: AblationSettings = { ...p.analysis, height: 28, width: 28 };
  const runs: AblationRun[] = [];
  const jobs: Record<string, Job> = {};
  const models: Record<string, Job<ModelMeta>> = {};
  const datasets = studyData(ctx, p.caps);
  const published: ModelPlan[] = [];
  for (const { dataset, title, classNames, job: data } of datasets) {
    for (const regime of regimes) {
      for (const seed of p.seeds) {
        // The id is also the published weights file's name: kebab-case, unique in the report.
        const id = `${dataset}-${regime.id}-seed-${seed}`;
        const shape = { ...IMAGE_SHAPE, embed: p.embed, hidden: p.hidden };
        const model = trainJob(
          `ablations/${id}`,
          data,
          { kind: bilinearClassifier, shape },
          classification,
          trainSettings(regime, p.epochs[dataset as 'mnist' | 'fashion-mnist'], seed),
          ctx.backend,
        );
        const eigen = classEigenJob(`ablations/${id}`, model, classNames);
        jobs[`${id}.scores`] = ablationJob(`ablations/${id}`, { data, model, eigen }, settings);
        models[id] = model;
        runs.push({ dataset, regime: regime.id, seed, analysis: `${id}.scores` });
        // "none" is the grid's (0, 0) cell when the grid has one: published once, under the cell's id.
        const isCorner = regime.id === 'none' && p.latentNoise.includes(0) && p.weightDecay.includes(0);
        if (!isCorner)
          published.push({
            id,
            description:
              `${title}, ${regime.kind === 'grid' ? regime.label : `comparator: ${regime.label}`}, ` +
              `seed ${seed}`,
            job: model,
          });
      }
    }
  }
  return { regimes, runs, jobs, models, published, datasets };
}

function plan(ctx: PlanContext): ReportPlan {
  const p = checkStudy(PROFILES[ctx.profile], ctx.profile);
  const study = planStudy(ctx, p);
  const { regimes, runs, jobs } = study;
  return {
    settings: {
      grid: { latentNoise: p.latentNoise, weightDecay: p.weightDecay },
      middle: { ...p.middle },
      comparators: { ...p.comparators },
      seeds: p.seeds,
      model: { ...IMAGE_SHAPE, embed: p.embed, hidden: p.hidden },
      training: {
        ...IMAGE_TRAINING,
        latentNoise: 'grid',
        weightDecay: 'grid',
        inputNoise: 0,
        epochs: { ...p.epochs },
      },
      caps: structuredClone(p.caps),
      analysis: { ...p.analysis },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    models: study.published,
    analyses: runs.map((r) => ({ id: r.analysis, job: jobs[r.analysis]! })),
    figures: studyFigures(p, study),
    metrics: (read) => studyMetrics(p, runs, regimes, (name) => read(jobs[name]!)),
  };
}

/** The heatmaps, the galleries of each data set, and the comparisons of every regime. */
function studyFigures(p: StudyProfile, study: ReturnType<typeof planStudy>): FigurePlan[] {
  const { regimes, runs, jobs, datasets } = study;
  const middle = middleId(p);
  const shownComparators = [middle, 'input-noise', 'l1', 'dropout', 'none'];
  const inputsOf = (mine: AblationRun[]) =>
    Object.fromEntries(mine.map((r) => [r.analysis, jobs[r.analysis]!]));
  const maxK = p.analysis.maxK;
  const heatmaps = (Object.keys(METRICS) as MetricName[]).map((metric) =>
    figure(
      'ablations',
      // a published id keeps its URL after the metric's rename
      `heatmap-${metric === 'eigenvectorsNeeded' ? 'k-within-one-point' : kebab(metric)}`,
      ablationHeatmap,
      inputsOf(runs),
      { runs, regimes, metric, maxK },
    ),
  );
  const perDataset = datasets.flatMap(({ dataset, classNames }) => {
    const mine = runs.filter((r) => r.dataset === dataset);
    const classIndex = p.galleryClass[dataset as 'mnist' | 'fashion-mnist'];
    const imageSize = { height: 28, width: 28 };
    return [
      figure('ablations', `${dataset}-eigenvector-grid`, ablationGridGallery, inputsOf(mine), {
        runs: mine,
        regimes,
        dataset,
        classIndex,
        className: classNames[classIndex]!,
        seed: p.seeds[0]!,
        reference: middle,
        ...imageSize,
      }),
      figure('ablations', `${dataset}-comparators-gallery`, ablationComparatorGallery, inputsOf(mine), {
        runs: mine,
        regimes,
        dataset,
        classNames,
        seed: p.seeds[0]!,
        shown: shownComparators,
        ...imageSize,
      }),
    ];
  });
  return [
    ...heatmaps,
    ...perDataset,
    figure('ablations', 'comparators-table', ablationComparatorTable, inputsOf(runs), {
      runs,
      regimes,
      shown: shownComparators,
      maxK,
    }),
    figure('ablations', 'accuracy-vs-metrics', ablationAccuracyScatter, inputsOf(runs), { runs, regimes }),
  ];
}

/**
 * Headline numbers for the narrative: every metric at the grid's corners and middle cell and for
 * each comparator; the correlation over runs of accuracy with each metric.
 */
function studyMetrics(
  p: StudyProfile,
  runs: AblationRun[],
  regimes: Regime[],
  lookup: (name: string) => Artifact,
): Record<string, Metric> {
  const study = studyPoints(runs, regimes, lookup);
  const { points } = study;
  const cells = summarizeCells(study, p.analysis.maxK);
  const at = (latentNoise: number, weightDecay: number) =>
    `latent-${number(latentNoise)}-decay-${number(weightDecay)}`;
  const [noise, decay] = [
    [Math.min(...p.latentNoise), Math.max(...p.latentNoise)],
    [Math.min(...p.weightDecay), Math.max(...p.weightDecay)],
  ] as const;
  const places: [string, string][] = [
    ['corner', at(noise[0], decay[0])],
    ['middle', middleId(p)],
    ['strongest', at(noise[1], decay[1])],
    ['most-noise', at(noise[1], decay[0])],
    ['most-decay', at(noise[0], decay[1])],
    ['input-noise', 'input-noise'],
    ['l1', 'l1'],
    ['dropout', 'dropout'],
    ['none', 'none'],
  ];
  const out: Record<string, Metric> = {
    runs: { label: 'trained models', value: distinctRuns(points).length, format: 'number', digits: 0 },
    seeds: { label: 'seeds per cell', value: p.seeds.length, format: 'number', digits: 0 },
    cells: {
      label: 'grid cells',
      value: p.latentNoise.length * p.weightDecay.length,
      format: 'number',
      digits: 0,
    },
    'max-k': { label: 'largest k tried', value: p.analysis.maxK, format: 'number', digits: 0 },
  };
  for (const dataset of ['mnist', 'fashion-mnist']) {
    for (const [place, regime] of places) {
      const cell = cells.find((c: Cell) => c.dataset === dataset && c.regime.id === regime);
      if (!cell) continue;
      for (const metric of Object.keys(METRICS) as MetricName[]) {
        const v = cell.values[metric];
        const name = `${dataset}-${place}-${kebab(metric)}`;
        const label = `${dataset} ${METRICS[metric].label} (${cell.regime.label})`;
        out[name] = withInterval(
          metric === 'accuracy'
            ? { label, value: v.mean, format: 'percent', digits: 1 }
            : {
                label,
                value: v.mean,
                format: 'number',
                digits: metric === 'eigenvectorsNeeded' ? 1 : 3,
                ...(v.censored ? { text: censoredNeededText(v.mean, p.analysis.maxK) } : {}),
              },
          v,
          'seeds',
          metricRange(metric, p.analysis.maxK),
        );
      }
    }
    const mine = distinctRuns(points).filter((pt) => pt.dataset === dataset);
    for (const metric of Object.keys(METRICS) as MetricName[]) {
      if (metric === 'accuracy' || CELL_ONLY_METRICS.includes(metric)) continue;
      const pairs = mine
        .map(
          (pt) =>
            [
              pt.scores.accuracy,
              metric === 'crossSeedSimilarity'
                ? pt.crossSeedSimilarity
                : pt.scores[metric as keyof RunScores],
            ] as const,
        )
        .filter((pair): pair is readonly [number, number] => pair[1] !== null && Number.isFinite(pair[1]));
      const r = correlation(
        pairs.map((x) => x[0]),
        pairs.map((x) => x[1]),
      );
      if (Number.isFinite(r))
        out[`${dataset}-correlation-${kebab(metric)}`] = {
          label: `${dataset} correlation of accuracy with ${METRICS[metric].label}`,
          value: r,
          format: 'number',
          digits: 2,
        };
    }
  }
  return out;
}

export const ablationsReport: ReportSpec = {
  id: 'ablations',
  title: 'Regularization ablations: which training choices make eigenvector features interpretable',
  summary:
    'A grid of latent noise × weight decay, and input noise, L1 and dropout ' +
    'as comparators, on MNIST and Fashion-MNIST: every run scored by the ' +
    'same interpretability metrics.',
  datasets: [FASHION_MNIST],
  plan,
};

export { PROFILES as ABLATION_PROFILES };
