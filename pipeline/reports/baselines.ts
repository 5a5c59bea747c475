/**
 * Eigenvectors against baselines: for MNIST and Fashion-MNIST, models of several hidden sizes,
 * each trained from several seeds, truncated to their top-k eigenvectors per class and compared
 * at equal k with k random directions and the top-k principal directions of the data; and the
 * stability of the top eigenvectors across seeds and sizes.
 */
import { truncationJob } from '../analysis/job.ts';
import { checkTruncationSettings, type TruncationSettings } from '../analysis/truncation-study.ts';
import type { Artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import { FASHION_MNIST, MNIST_IDX } from '../data/sources.ts';
import { classEigenJob } from '../decompose/job.ts';
import { PipelineError } from '../errors.ts';
import { baselinesSummary, stabilityAcrossSizes, stabilityByRank, summaryRows, truncationCurves, type StudyRun } from '../figures/baselines.ts';
import { figureJob } from '../figures/job.ts';
import { bilinearClassifier } from '../models/bilinear-classifier.ts';
import type { ProfileName } from '../profiles.ts';
import { classification } from '../tasks/classification.ts';
import { trainJob } from '../train/job.ts';
import { IMAGE_SHAPE, IMAGE_TRAINING, studyData } from './image-report.ts';
import type { FigurePlan, Metric, PlanContext, ReportPlan, ReportSpec } from './spec.ts';

interface StudyProfile {
  sizes: number[];
  seeds: number[];
  randomDraws: number;
  /** k grid (denser at small k); each model uses the ks up to its size. */
  ks: number[];
  epochs: Record<string, number>;
  /** Training and test set caps per data set (the study trains many models). */
  caps: Record<'mnist' | 'fashion-mnist', { trainLimit?: number; testLimit?: number }>;
  pcaSample: number;
}

const KS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50];
const AT_K = [1, 3, 10];

const PROFILES: Record<ProfileName, StudyProfile> = {
  smoke: { sizes: [8, 16], seeds: [0, 1], randomDraws: 2, ks: [1, 2, 3, 4, 8, 10, 16], epochs: { mnist: 2, 'fashion-mnist': 2 }, caps: { mnist: {}, 'fashion-mnist': {} }, pcaSample: 500 },
  // 24 models; sized to fit the site's build budget (DESIGN.md) on the native path.
  default: {
    sizes: [30, 50, 100, 300],
    seeds: [0, 1, 2],
    randomDraws: 10,
    ks: KS,
    epochs: { mnist: 10, 'fashion-mnist': 10 },
    // A 10,000-image sample of each training set (stratified, seeded) and 2,000 test images:
    // 24 models must fit the site's budget; the image reports train on the full sets.
    caps: { mnist: { trainLimit: 10_000, testLimit: 2_000 }, 'fashion-mnist': { trainLimit: 10_000, testLimit: 2_000 } },
    pcaSample: 2_000,
  },
  paper: { sizes: [30, 50, 100, 300, 500, 1000], seeds: [0, 1, 2, 3, 4], randomDraws: 20, ks: KS, epochs: { mnist: 40, 'fashion-mnist': 40 }, caps: { mnist: {}, 'fashion-mnist': {} }, pcaSample: 5_000 },
};

/** Refuses an impossible study before anything trains. */
export function checkStudy(p: StudyProfile): void {
  if (p.seeds.length < 2) throw new PipelineError(`baselines: at least 2 seeds are needed for intervals and cross-seed similarity, got ${p.seeds.length}`, { exitCode: 2 });
  if (p.sizes.length === 0) throw new PipelineError('baselines: no hidden sizes', { exitCode: 2 });
  for (const size of p.sizes) checkTruncationSettings(settingsFor(p, size), size, `baselines, hidden size ${size}`);
}

function settingsFor(p: StudyProfile, size: number): TruncationSettings {
  return { ks: p.ks.filter((k) => k <= size), randomDraws: p.randomDraws, pcaSample: p.pcaSample, seed: 11 };
}

function plan(ctx: PlanContext): ReportPlan {
  const p = PROFILES[ctx.profile];
  checkStudy(p);
  const runs: StudyRun[] = [];
  const deps: Record<string, Job> = {};
  const analyses: { id: string; job: Job }[] = [];
  for (const { dataset, classNames, job: data } of studyData(ctx, p.caps)) {
    for (const size of p.sizes) {
      for (const seed of p.seeds) {
        const id = `${dataset}-${size}-${seed}`;
        const shape = { ...IMAGE_SHAPE, embed: size, hidden: size };
        const model = trainJob(`baselines/${id}`, data, { kind: bilinearClassifier, shape }, classification, { ...IMAGE_TRAINING, epochs: p.epochs[dataset]!, seed, evaluate: 'last-epoch' }, ctx.backend);
        const eigen = classEigenJob(`baselines/${id}`, model, classNames);
        const truncation = truncationJob(`baselines/${id}`, { data, model, eigen }, settingsFor(p, size));
        Object.assign(deps, { [`${id}.model`]: model, [`${id}.eigen`]: eigen, [`${id}.truncation`]: truncation });
        analyses.push({ id, job: truncation });
        runs.push({ dataset, size, seed, truncation: `${id}.truncation`, model: `${id}.model`, eigen: `${id}.eigen` });
      }
    }
  }
  /** The study's jobs a set of runs reads, by the input names the runs give. */
  const inputsOf = (mine: StudyRun[], parts: ('truncation' | 'model' | 'eigen')[]) => Object.fromEntries(mine.flatMap((r) => parts.map((part) => [r[part], deps[r[part]]!])));
  const figure = (id: string, title: string, caption: string, job: (label: string) => FigurePlan['job']): FigurePlan => ({ id, title, caption, job: job(`baselines/${id}`) });
  const byDataset = (dataset: string) => runs.filter((r) => r.dataset === dataset);
  const names = { accuracy: ['accuracy', 'accuracy', 'Test accuracy'], r2: ['r2', 'logit R²', 'R² of the logits against the full model\'s'], relativeError: ['relative-error', 'relative error of Q', 'Relative Frobenius error ‖Q − Q_k‖_F / ‖Q‖_F of each class\'s interaction matrix (mean over classes)'] } as const;
  const curves = (dataset: string, title: string, measure: 'accuracy' | 'r2' | 'relativeError') =>
    figure(
      `${dataset}-${names[measure][0]}-vs-k`,
      `${title}: ${names[measure][1]} against k`,
      `${names[measure][2]} when each class keeps only k directions: its top-k eigenvectors (red), k random orthonormal directions (grey; ${p.randomDraws} draws per model), or the top-k principal directions of the training data (blue)${measure === 'accuracy' ? '; dashed: the full model' : ''}. One panel per hidden size; bands are 95% intervals over ${p.seeds.length} seeds (and draws).`,
      (label) => figureJob(label, truncationCurves, inputsOf(byDataset(dataset), ['truncation']), { runs: byDataset(dataset), dataset: title, measure }),
    );
  return {
    settings: { sizes: p.sizes, seeds: p.seeds, randomDraws: p.randomDraws, ks: p.ks, epochs: p.epochs, training: { ...IMAGE_TRAINING }, caps: JSON.parse(JSON.stringify(p.caps)), pcaSample: p.pcaSample, backend: `${ctx.backend.name} (${ctx.backend.detail})` },
    models: [],
    analyses,
    figures: [
      curves('mnist', 'MNIST', 'accuracy'),
      curves('mnist', 'MNIST', 'r2'),
      curves('fashion-mnist', 'Fashion-MNIST', 'accuracy'),
      curves('fashion-mnist', 'Fashion-MNIST', 'r2'),
      curves('mnist', 'MNIST', 'relativeError'),
      curves('fashion-mnist', 'Fashion-MNIST', 'relativeError'),
      figure('summary-table', 'Summary', `For each data set, hidden size and method: the smallest k of the grid at which mean test accuracy reaches 99% of the full model's, and the accuracy at k = ${AT_K.join(', ')}.`, (label) =>
        figureJob(label, baselinesSummary, inputsOf(runs, ['truncation']), { datasets: [MNIST_IDX, FASHION_MNIST].map((s) => ({ title: s.title, runs: byDataset(s.name) })), atK: AT_K }),
      ),
      figure('stability-by-rank', 'Stability across seeds', 'How similar the top-r eigenvectors of each class are between models trained from different seeds: the eigenvectors of two models are paired one to one to maximise |cos| (input space), averaged over classes and over every pair of distinct seeds; bands are 95% intervals over seed pairs. "chance" is the same statistic for random Gaussian directions.', (label) =>
        figureJob(label, stabilityByRank, inputsOf(runs, ['model', 'eigen']), { runs, maxRank: 10, seed: 3 }),
      ),
      figure('stability-across-sizes', 'Stability across sizes', 'Matched similarity of the top 5 eigenvectors per class between models of two hidden sizes, averaged over classes and over all pairs of distinct models (on the diagonal: different seeds of the same size).', (label) =>
        figureJob(label, stabilityAcrossSizes, inputsOf(runs, ['model', 'eigen']), { runs, rank: 5 }),
      ),
    ],
    metrics: (read) => studyMetrics(runs, Object.fromEntries(runs.map((r) => [r.truncation, read(deps[r.truncation]!)])), p),
  };
}

/** Headline numbers at the largest hidden size of each data set. */
function studyMetrics(runs: StudyRun[], inputs: Record<string, Artifact>, p: StudyProfile): Record<string, Metric> {
  const size = Math.max(...p.sizes);
  const out: Record<string, Metric> = {
    'largest-size': { label: 'largest hidden size', value: size, format: 'number', digits: 0 },
    seeds: { label: 'seeds per model', value: p.seeds.length, format: 'number', digits: 0 },
    draws: { label: 'random draws per model', value: p.randomDraws, format: 'number', digits: 0 },
  };
  for (const dataset of ['mnist', 'fashion-mnist']) {
    const rows = summaryRows(dataset, runs.filter((r) => r.dataset === dataset && r.size === size), inputs, AT_K);
    const maxK = Math.max(...p.ks.filter((k) => k <= size));
    out[`${dataset}-full-accuracy`] = { label: `${dataset} full accuracy`, value: rows[0]!.fullAccuracy, format: 'percent', digits: 1 };
    for (const [method, row] of [['eigen', rows[0]!], ['random', rows[1]!], ['pca', rows[2]!]] as const) {
      out[`${dataset}-k99-${method}`] = row.k99 === null
        ? { label: `${dataset} k for 99% (${method})`, value: maxK, format: 'number', digits: 0, text: `more than ${maxK}` }
        : { label: `${dataset} k for 99% (${method})`, value: row.k99, format: 'number', digits: 0 };
      for (const k of AT_K) out[`${dataset}-acc${k}-${method}`] = { label: `${dataset} accuracy at k = ${k} (${method})`, value: row.at[String(k)]!, format: 'percent', digits: 1 };
    }
  }
  return out;
}

export const baselinesReport: ReportSpec = {
  id: 'baselines',
  title: 'Eigenvectors against baselines: how much of the model do the top eigenvectors keep?',
  summary: 'Truncation to the top-k eigenvectors against k random and k principal directions, across hidden sizes and seeds, with the stability of eigenvectors across seeds and sizes.',
  datasets: [FASHION_MNIST],
  plan,
};

