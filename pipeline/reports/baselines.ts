/**
 * Eigenvectors against baselines: for MNIST and Fashion-MNIST, models of several hidden sizes and
 * two training lengths, each trained from several seeds, truncated to their top-k eigenvectors
 * per class and compared at equal budget with k random directions, the class's own top-k
 * principal directions, and c·k principal directions shared by all classes; and the stability of
 * the top eigenvectors across seeds and sizes beside a class-mismatched null.
 */
import { truncationJob } from '../analysis/job.ts';
import { checkTruncationSettings, type TruncationSettings } from '../analysis/truncation-study.ts';
import type { Artifact } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import type { DataMeta } from '../data/job.ts';
import { FASHION_MNIST, MNIST_IDX } from '../data/sources.ts';
import { classEigenJob } from '../decompose/job.ts';
import { PipelineError } from '../errors.ts';
import {
  baselinesSummary,
  curveRows,
  METHODS,
  neededBySize,
  neededRows,
  stabilityAcrossSizes,
  stabilityAt,
  stabilityByRank,
  truncationCurves,
  MEASURE_WORDS,
  type Measure,
  type StudyRun,
} from '../figures/baselines.ts';
import { figure } from '../figures/job.ts';
import { counted } from '../figures/words.ts';
import { bilinearClassifier } from '../models/bilinear-classifier.ts';
import type { ProfileName } from '../profiles.ts';
import { classification } from '../tasks/classification.ts';
import { trainJob } from '../train/job.ts';
import { IMAGE_SHAPE, IMAGE_TRAINING, studyData, validationSize } from './image-report.ts';
import {
  censoredNeededText,
  withInterval,
  type FigurePlan,
  type Metric,
  type PlanContext,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';

interface StudyProfile {
  sizes: number[];
  seeds: number[];
  randomDraws: number;
  /** Curves run over every k from 1 to maxK (capped at each model's size). */
  maxK: number;
  /** Training lengths per data set: every size and seed is trained at each; the last is the main one. */
  epochs: Record<'mnist' | 'fashion-mnist', number[]>;
  /** Training and test set caps per data set (absent: the whole split). */
  caps: Record<'mnist' | 'fashion-mnist', { trainLimit?: number; testLimit?: number }>;
  pcaSample: number;
}

const AT_K = [1, 3, 10];

/** Which test images the accuracies are on, as captions and labels say it wherever one is named. */
function testImagesText(p: StudyProfile): string {
  const limit = p.caps.mnist.testLimit;
  if (limit !== p.caps['fashion-mnist'].testLimit)
    throw new Error(
      'baselines: both data sets must keep the same number of test images, or the captions would mislead',
    );
  return limit
    ? `on a seeded sample of ${limit.toLocaleString('en-US')} of the 10,000 test images`
    : 'on the 10,000 test images';
}

const PROFILES: Record<ProfileName, StudyProfile> = {
  smoke: {
    sizes: [8, 16],
    seeds: [0, 1, 2],
    randomDraws: 2,
    maxK: 16,
    epochs: { mnist: [1, 2], 'fashion-mnist': [1, 2] },
    caps: { mnist: {}, 'fashion-mnist': {} },
    pcaSample: 500,
  },
  // The paper's study (sizes 30 … 1000, 5 seeds, full data) cut to the site's build budget
  // (DESIGN.md): four sizes, three seeds, the full 55,000 training images of each data set, at a
  // short and a longer training length, so the report can say how the answer moves with both;
  // 5,000 test images each (the truncation analyses are exact float64 quadratic forms).
  default: {
    sizes: [30, 50, 100, 300],
    seeds: [0, 1, 2],
    randomDraws: 10,
    maxK: 50,
    epochs: { mnist: [1, 4], 'fashion-mnist': [1, 4] },
    caps: { mnist: { testLimit: 5_000 }, 'fashion-mnist': { testLimit: 5_000 } },
    pcaSample: 10_000,
  },
  paper: {
    sizes: [30, 50, 100, 300, 500, 1000],
    seeds: [0, 1, 2, 3, 4],
    randomDraws: 20,
    maxK: 100,
    epochs: { mnist: [5, 40], 'fashion-mnist': [5, 40] },
    caps: { mnist: {}, 'fashion-mnist': {} },
    pcaSample: 20_000,
  },
};

/** Refuses an impossible study before anything trains. */
export function checkStudy(p: StudyProfile): void {
  if (p.seeds.length < 3)
    throw new PipelineError(
      `baselines: at least 3 seeds are needed for intervals over seed pairs ` +
        `(cross-seed similarity), got ${p.seeds.length}`,
      { exitCode: 2 },
    );
  if (p.sizes.length === 0) throw new PipelineError('baselines: no hidden sizes', { exitCode: 2 });
  for (const [dataset, lengths] of Object.entries(p.epochs)) {
    if (
      lengths.length === 0 ||
      lengths.some((e, i) => !Number.isInteger(e) || e < 1 || (i > 0 && e <= lengths[i - 1]!))
    )
      throw new PipelineError(
        `baselines: the training lengths of ${dataset} must be whole numbers of ` +
          `epochs in ascending order, got ${lengths.join(', ')}`,
        { exitCode: 2 },
      );
  }
  for (const size of p.sizes)
    checkTruncationSettings(settingsFor(p, size), size, `baselines, hidden size ${size}`);
}

function settingsFor(p: StudyProfile, size: number): TruncationSettings {
  return { maxK: Math.min(p.maxK, size), randomDraws: p.randomDraws, pcaSample: p.pcaSample, seed: 11 };
}

function plan(ctx: PlanContext): ReportPlan {
  const p = PROFILES[ctx.profile];
  checkStudy(p);
  const { runs, deps, analyses } = planRuns(ctx, p);
  const main = (dataset: string) => p.epochs[dataset as 'mnist' | 'fashion-mnist'].at(-1)!;
  return {
    settings: {
      sizes: p.sizes,
      seeds: p.seeds,
      randomDraws: p.randomDraws,
      maxK: p.maxK,
      epochs: p.epochs,
      training: { ...IMAGE_TRAINING },
      caps: structuredClone(p.caps),
      validation: validationSize(ctx.profile),
      pcaSample: p.pcaSample,
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    models: [],
    analyses,
    figures: studyFigures(p, runs, deps, main),
    metrics: (read) => studyMetrics(runs, read, deps, p, main),
  };
}

/**
 * One model of the study and its class decomposition. Other reports that read the study's models
 * (the adversarial masks) plan them through here, so their jobs are the same jobs, trained once.
 */
function studyModel(
  ctx: PlanContext,
  data: { dataset: string; data: Job<DataMeta>; classNames: string[] },
  run: { size: number; seed: number; epochs: number },
  lengths: number[],
) {
  const { size, seed, epochs } = run;
  // The main (longest) length keeps the ids of the published figures' runs.
  const id =
    epochs === lengths.at(-1)
      ? `${data.dataset}-${size}-${seed}`
      : `${data.dataset}-${size}-${seed}-${epochs}-epochs`;
  const shape = { ...IMAGE_SHAPE, embed: size, hidden: size };
  const model = trainJob(
    `baselines/${id}`,
    data.data,
    { kind: bilinearClassifier, shape },
    classification,
    { ...IMAGE_TRAINING, epochs, seed, evaluate: 'last-epoch' },
    ctx.backend,
  );
  return { id, model, eigen: classEigenJob(`baselines/${id}`, model, data.classNames) };
}

/**
 * The study's models of the largest size at the main training length on one data set, one per
 * seed, with the data they were tested on: for reports that read the same models.
 */
export function largestStudyModels(ctx: PlanContext, dataset: 'mnist' | 'fashion-mnist') {
  const p = PROFILES[ctx.profile];
  checkStudy(p);
  const { job: data, classNames } = studyData(ctx, p.caps).find((d) => d.dataset === dataset)!;
  const lengths = p.epochs[dataset];
  const size = Math.max(...p.sizes);
  return {
    data,
    classNames,
    size,
    epochs: lengths.at(-1)!,
    runs: p.seeds.map((seed) => ({
      seed,
      ...studyModel(ctx, { dataset, data, classNames }, { size, seed, epochs: lengths.at(-1)! }, lengths),
    })),
  };
}

/** Every data set × training length × size × seed: a model, its decomposition and its truncation. */
function planRuns(ctx: PlanContext, p: StudyProfile) {
  const runs: StudyRun[] = [];
  const deps: Record<string, Job> = {};
  const analyses: { id: string; job: Job }[] = [];
  for (const { dataset, classNames, job: data } of studyData(ctx, p.caps)) {
    deps[`${dataset}.data`] = data;
    analyses.push({ id: `${dataset}.data`, job: data });
    const lengths = p.epochs[dataset as 'mnist' | 'fashion-mnist'];
    for (const epochs of lengths) {
      for (const size of p.sizes) {
        for (const seed of p.seeds) {
          const { id, model, eigen } = studyModel(
            ctx,
            { dataset, data, classNames },
            { size, seed, epochs },
            lengths,
          );
          const truncation = truncationJob(`baselines/${id}`, { data, model, eigen }, settingsFor(p, size));
          Object.assign(deps, {
            [`${id}.model`]: model,
            [`${id}.eigen`]: eigen,
            [`${id}.truncation`]: truncation,
          });
          analyses.push({ id, job: truncation });
          // the largest main-length models also feed the stability numbers of the narrative
          if (size === Math.max(...p.sizes) && epochs === lengths.at(-1))
            analyses.push({ id: `${id}.model`, job: model }, { id: `${id}.eigen`, job: eigen });
          runs.push({
            dataset,
            size,
            epochs,
            seed,
            truncation: `${id}.truncation`,
            model: `${id}.model`,
            eigen: `${id}.eigen`,
          });
        }
      }
    }
  }
  return { runs, deps, analyses };
}

function studyFigures(
  p: StudyProfile,
  runs: StudyRun[],
  deps: Record<string, Job>,
  main: (dataset: string) => number,
): FigurePlan[] {
  /** The study's jobs a set of runs reads, by the input names the runs give. */
  const inputsOf = (mine: StudyRun[], parts: ('truncation' | 'model' | 'eigen')[]) =>
    Object.fromEntries(mine.flatMap((r) => parts.map((part) => [r[part], deps[r[part]]!])));
  const byDataset = (dataset: string) =>
    runs.filter((r) => r.dataset === dataset && r.epochs === main(dataset));
  const onTest = { testImages: testImagesText(p) };
  const curves = (dataset: string, title: string, measure: Measure) =>
    figure(
      'baselines',
      `${dataset}-${MEASURE_WORDS[measure].slug}-vs-k`,
      truncationCurves,
      inputsOf(byDataset(dataset), ['truncation']),
      { runs: byDataset(dataset), dataset: title, measure, randomDraws: p.randomDraws, ...onTest },
    );
  const everyLength = (dataset: string) => runs.filter((r) => r.dataset === dataset);
  const mainRuns = [MNIST_IDX, FASHION_MNIST].flatMap((s) => byDataset(s.name));
  return [
    curves('mnist', 'MNIST', 'accuracy'),
    curves('mnist', 'MNIST', 'error'),
    curves('mnist', 'MNIST', 'r2'),
    curves('fashion-mnist', 'Fashion-MNIST', 'accuracy'),
    curves('fashion-mnist', 'Fashion-MNIST', 'error'),
    curves('fashion-mnist', 'Fashion-MNIST', 'r2'),
    curves('mnist', 'MNIST', 'relativeError'),
    curves('fashion-mnist', 'Fashion-MNIST', 'relativeError'),
    figure('baselines', 'eigenvectors-needed', neededBySize, inputsOf(runs, ['truncation']), {
      datasets: [MNIST_IDX, FASHION_MNIST].map((s) => ({ title: s.title, runs: everyLength(s.name) })),
      maxK: p.maxK,
      ...onTest,
    }),
    figure('baselines', 'summary-table', baselinesSummary, inputsOf(mainRuns, ['truncation']), {
      datasets: [MNIST_IDX, FASHION_MNIST].map((s) => ({ title: s.title, runs: byDataset(s.name) })),
      atK: AT_K,
      ...onTest,
    }),
    figure('baselines', 'stability-by-rank', stabilityByRank, inputsOf(mainRuns, ['model', 'eigen']), {
      runs: mainRuns,
      maxRank: 10,
      seed: 3,
    }),
    figure(
      'baselines',
      'stability-across-sizes',
      stabilityAcrossSizes,
      inputsOf(mainRuns, ['model', 'eigen']),
      {
        runs: mainRuns,
        rank: 5,
      },
    ),
  ];
}

const METHOD_KEYS = ['eigen', 'random', 'pcaClass', 'pcaShared'] as const;
const METHOD_IDS = {
  eigen: 'eigen',
  random: 'random',
  pcaClass: 'pca-class',
  pcaShared: 'pca-shared',
} as const;

/**
 * The numbers the narrative quotes: for every data set, size and training length, each method's
 * directions needed; at the largest size and main length, accuracy and R² at small k and the
 * cross-seed stability of the top eigenvectors beside the class-mismatched null.
 */
function studyMetrics(
  runs: StudyRun[],
  read: (job: Job) => Artifact,
  deps: Record<string, Job>,
  p: StudyProfile,
  main: (dataset: string) => number,
): Record<string, Metric> {
  const size = Math.max(...p.sizes);
  const onTest = testImagesText(p);
  const stable = (r: StudyRun) => r.size === size && r.epochs === main(r.dataset);
  const inputs = Object.fromEntries(
    runs.flatMap((r) =>
      (stable(r) ? [r.truncation, r.model, r.eigen] : [r.truncation]).map((name) => [
        name,
        read(deps[name]!),
      ]),
    ),
  );
  const out: Record<string, Metric> = {
    'largest-size': { label: 'largest hidden size', value: size, format: 'number', digits: 0 },
    'smallest-size': {
      label: 'smallest hidden size',
      value: Math.min(...p.sizes),
      format: 'number',
      digits: 0,
    },
    seeds: { label: 'seeds per model', value: p.seeds.length, format: 'number', digits: 0 },
    draws: { label: 'random draws per model', value: p.randomDraws, format: 'number', digits: 0 },
    'max-k': { label: 'largest k', value: p.maxK, format: 'number', digits: 0 },
  };
  const data = read(deps['mnist.data']!).meta as DataMeta;
  out['train-images'] = {
    label: 'training images per data set',
    value: data.trainSize,
    format: 'number',
    digits: 0,
  };
  out['test-images'] = {
    label: 'test images per data set (a seeded sample when fewer than 10,000)',
    value: data.testSize,
    format: 'number',
    digits: 0,
  };
  for (const dataset of ['mnist', 'fashion-mnist'] as const) {
    const lengths = p.epochs[dataset];
    out[`${dataset}-short-epochs`] = {
      label: `${dataset} short training length`,
      value: lengths[0]!,
      format: 'number',
      digits: 0,
    };
    out[`${dataset}-epochs`] = {
      label: `${dataset} main training length`,
      value: lengths.at(-1)!,
      format: 'number',
      digits: 0,
    };
    for (const row of neededRows(
      dataset,
      runs.filter((r) => r.dataset === dataset),
      inputs,
    )) {
      // named by the size's place (smallest, largest), so that prose reads the same in every profile
      const role = row.size === size ? 'largest' : row.size === Math.min(...p.sizes) ? 'smallest' : null;
      if (role === null) continue;
      const method = METHOD_KEYS.find((m) => METHODS[m] === row.method)!;
      const length = row.epochs === lengths.at(-1) ? '' : 'short-';
      const name = `${dataset}-${role}-${length}needed-${METHOD_IDS[method]}`;
      out[name] = withInterval(
        {
          label: `${dataset} d = ${row.size}, ${counted(row.epochs, 'epoch')}: ${row.method}, directions needed`,
          value: row.interval.mean,
          format: 'number',
          digits: 1,
          ...(row.censored ? { text: censoredNeededText(row.interval.mean, row.maxK) } : {}),
        },
        row.interval,
        'seeds',
        [1, row.maxK],
      );
      if (method === 'eigen')
        out[name.replace('needed-eigen', 'full-accuracy')] = {
          label: `${dataset} d = ${row.size}, ${counted(row.epochs, 'epoch')}: full accuracy ${onTest}`,
          value: row.fullAccuracy.mean,
          format: 'percent',
          digits: 1,
        };
    }
    const largest = runs.filter(
      (r) => r.dataset === dataset && r.size === size && r.epochs === main(dataset),
    );
    for (const measure of ['accuracy', 'r2'] as const) {
      const rows = curveRows(largest, inputs, measure);
      for (const method of METHOD_KEYS) {
        for (const k of AT_K) {
          const row = rows.find((r) => r.method === METHODS[method] && r.k === k);
          if (row)
            out[`${dataset}-${measure === 'accuracy' ? 'acc' : 'r2-'}${k}-${METHOD_IDS[method]}`] = {
              label:
                `${dataset} ${measure === 'accuracy' ? `accuracy ${onTest}` : 'logit R²'} ` +
                `at k = ${k} (${METHODS[method]})`,
              value: row.mean,
              format: measure === 'accuracy' ? 'percent' : 'number',
              digits: measure === 'accuracy' ? 1 : 2,
            };
        }
      }
    }
    const stability = stabilityAt(largest, inputs, 5);
    for (const [name, iv] of Object.entries(stability)) {
      out[`${dataset}-stability-${name}`] = {
        label: `${dataset} cross-seed similarity of the top 5 eigenvectors (${name})`,
        value: iv.mean,
        format: 'number',
        digits: 2,
      };
      if (iv.lo !== null && iv.hi !== null) {
        out[`${dataset}-stability-${name}-lo`] = {
          label: `${dataset} stability (${name}), interval low`,
          value: iv.lo,
          format: 'number',
          digits: 2,
        };
        out[`${dataset}-stability-${name}-hi`] = {
          label: `${dataset} stability (${name}), interval high`,
          value: iv.hi,
          format: 'number',
          digits: 2,
        };
      }
    }
  }
  return out;
}

export const baselinesReport: ReportSpec = {
  id: 'baselines',
  title: 'Eigenvectors against baselines: how much of the model do the top eigenvectors keep?',
  summary:
    'Truncation to the top-k eigenvectors against random and ' +
    'class-conditional and shared principal directions, across hidden sizes, ' +
    'training lengths and seeds, with the stability of eigenvectors across ' +
    'seeds beside a class-mismatched null.',
  datasets: [FASHION_MNIST],
  plan,
};
