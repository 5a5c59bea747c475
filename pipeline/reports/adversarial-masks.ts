/**
 * Adversarial masks on MNIST (the paper's ICLR version): if the top eigenvectors of a digit are
 * what the model reads for it, a few pixels chosen from them should turn other digits into it,
 * far more than the same pixels placed at random or noise of the same size; and pixels from its
 * negative eigenvectors should turn it into something else. A report of its own, on the baselines
 * report's largest MNIST models (the same jobs, trained once), so that its intervals are over
 * seeds of one recipe, and the MNIST report keeps to one model.
 */
import { adversarialMaskJob } from '../analysis/job.ts';
import { checkMaskSettings, type MaskSettings } from '../analysis/adversarial-masks.ts';
import { MNIST_IDX } from '../data/sources.ts';
import { figure } from '../figures/job.ts';
import { maskCurves, maskedImages, maskGallery, NULL_WORDS, PANELS, summarise } from '../figures/masks.ts';
import type { ProfileName } from '../profiles.ts';
import { IMAGE_SHAPE } from './image-report.ts';
import { largestStudyModels } from './baselines.ts';
import {
  numberMetric,
  percentMetric,
  withInterval,
  type Metric,
  type PlanContext,
  type ReportPlan,
  type ReportSpec,
} from './spec.ts';

const PROFILES: Record<ProfileName, Omit<MaskSettings, 'seed'>> = {
  // Seconds: two targets, the smoke study's small models (16 eigenvectors: 3 decoders).
  smoke: { targets: [0, 1], decoders: 3, ks: [10, 40, 160], perClass: 10, draws: 2, rareBelow: 0.01 },
  // The authors' sizes (k = 20 … 400, 10 decoders), every digit as the target, on 50 test images of
  // each digit: 450 other-digit images per target, 50 of its own.
  default: {
    targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    decoders: 10,
    ks: [20, 50, 100, 200, 400],
    perClass: 50,
    draws: 3,
    rareBelow: 0.01,
  },
  paper: {
    targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    decoders: 10,
    ks: [20, 50, 100, 200, 400],
    perClass: 200,
    draws: 10,
    rareBelow: 0.01,
  },
};

function planJobs(ctx: PlanContext) {
  const settings: MaskSettings = { ...PROFILES[ctx.profile], seed: 13 };
  checkMaskSettings(settings, MNIST_IDX.classNames.length, IMAGE_SHAPE.input, 'adversarial-masks');
  const study = largestStudyModels(ctx, 'mnist');
  const runs = study.runs.map((r) => ({
    ...r,
    masks: adversarialMaskJob(
      `adversarial-masks/${r.id}`,
      { data: study.data, model: r.model, eigen: r.eigen },
      settings,
    ),
  }));
  return { settings, study, runs };
}

function plan(ctx: PlanContext): ReportPlan {
  const { settings, study, runs } = planJobs(ctx);
  const inputs = Object.fromEntries(runs.map((r, i) => [`seed-${i}`, r.masks]));
  const images = `${settings.perClass} test images of each digit`;
  return {
    settings: {
      masks: { ...settings },
      models: {
        from: 'the baselines report (MNIST, largest size, main training length)',
        size: study.size,
        epochs: study.epochs,
        seeds: runs.map((r) => r.seed),
      },
      backend: `${ctx.backend.name} (${ctx.backend.detail})`,
    },
    models: [],
    analyses: runs.map((r) => ({ id: `${r.id}.masks`, job: r.masks })),
    figures: [
      figure('adversarial-masks', 'success-by-size', maskCurves, inputs, {
        seeds: runs.length,
        targets: settings.targets.length,
        images,
      }),
      figure(
        'adversarial-masks',
        'masks',
        maskGallery,
        { masks: runs[0]!.masks },
        {
          classNames: MNIST_IDX.classNames,
        },
      ),
      figure(
        'adversarial-masks',
        'masked-images',
        maskedImages,
        { data: study.data, model: runs[0]!.model, masks: runs[0]!.masks },
        { classNames: MNIST_IDX.classNames },
      ),
    ],
    metrics: (read) => {
      const metas = runs.map((r) => read(r.masks).meta);
      return maskMetrics(
        metas.map((m) => m.rows),
        settings,
        study.size,
        metas[0]!.rarePixels,
      );
    },
  };
}

const SLUG: Record<string, string> = {
  [NULL_WORDS.mask]: 'mask',
  [NULL_WORDS.permuted]: 'permuted',
  [NULL_WORDS.noise]: 'noise',
};

/** Each panel's success at each k for the mask and its nulls, with intervals over seeds; drops. */
function maskMetrics(
  seeds: Parameters<typeof summarise>[0],
  settings: MaskSettings,
  size: number,
  rarePixels: number,
): Record<string, Metric> {
  const out: Record<string, Metric> = {
    'model-size': numberMetric('hidden size d = m of the models', size),
    seeds: numberMetric('models (seeds)', seeds.length),
    targets: numberMetric('target digits', settings.targets.length),
    'per-class': numberMetric('test images of each digit', settings.perClass),
    decoders: numberMetric('decoders (top positive eigenvectors) per target', settings.decoders),
    'rare-pixels': numberMetric('pixels almost never lit in training', rarePixels),
  };
  const slugOf = (panel: string) => {
    const p = PANELS.find((x) => x.title === panel)!;
    return `${p.direction}-${p.variant}`;
  };
  // named by the size's place (smallest, middle, largest), so that prose reads the same in every profile
  const ks = [...settings.ks].sort((a, b) => a - b);
  const roles: [string, number][] = [
    ['small', ks[0]!],
    ['mid', ks[Math.floor((ks.length - 1) / 2)]!],
    ['large', ks.at(-1)!],
  ];
  for (const [role, k] of roles) out[`k-${role}`] = numberMetric(`mask size (${role}), pixels`, k);
  for (const row of summarise(seeds)) {
    for (const [role, k] of roles) {
      if (row.k !== k) continue;
      const name = `${slugOf(row.panel)}-${SLUG[row.method]}-${role}`;
      out[name] = withInterval(
        percentMetric(`${row.panel}, ${row.method}, k = ${row.k}: share of images moved`, row.mean, 1),
        { mean: row.mean, lo: row.lo, hi: row.hi, n: row.n, method: row.interval as 'nested' },
        'seeds',
      );
      if (row.method === NULL_WORDS.mask)
        out[`${slugOf(row.panel)}-drop-${role}`] = percentMetric(
          `${row.panel}, k = ${row.k}: accuracy drop on those images`,
          row.drop,
          1,
        );
    }
  }
  return out;
}

export const adversarialMasksReport: ReportSpec = {
  id: 'adversarial-masks',
  title: 'Adversarial masks: do eigenvectors say which pixels turn one digit into another?',
  summary:
    "Masks of a few pixels built from a digit's top eigenvectors, added to other digits' images, " +
    'against the same pixels placed at random and noise of the same norm; and masks that suppress a digit.',
  datasets: [MNIST_IDX],
  plan,
};
