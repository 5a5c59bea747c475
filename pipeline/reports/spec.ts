/**
 * What a report is, to the pipeline: an id, a title, and for each profile a plan of jobs (the
 * models it trains and the figures it draws) plus the settings and headline numbers its page
 * shows. Adding a report = one spec here (registered in index.ts) + one MDX narrative in content/.
 */
import { z } from 'zod';
import type { Interval, IntervalMethod } from '../analysis/stats.ts';
import type { Artifact, Json } from '../cache/artifact.ts';
import type { Job } from '../cache/job.ts';
import type { PlannedFigure } from '../figures/job.ts';
import type { ModelMeta } from '../train/job.ts';
import type { Log } from '../util/log.ts';
import type { ProfileName } from '../profiles.ts';
import type { BackendInfo } from '../train/backend.ts';
import type { IdxSource } from '../data/sources.ts';

/** Stable ids: lower-case kebab-case, as they appear in URLs. Once published, never changed. */
export const KEBAB_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A figure of the report: made with `figure()` (figures/job.ts), which takes its words from its renderer. */
export type FigurePlan = PlannedFigure;

export interface ModelPlan {
  id: string;
  description: string;
  job: Job<ModelMeta>;
  /**
   * Also publish the model as its kind's checkpoint file (models/<id>.<extension>, e.g. llama2.c's
   * model.bin), for programs that run such files.
   */
  checkpoint?: boolean;
}

/** A headline number, interpolated into the narrative by name. */
export interface Metric {
  label: string;
  value: number;
  /** How the site prints it: as a percentage, or as a plain number with this many decimals. */
  format: 'percent' | 'number';
  digits: number;
  /** Printed instead of the formatted value (e.g. "> 50" when a threshold is never reached). */
  text?: string;
  /**
   * The 95% interval of a mean, with its method and what its n counts; the site prints it beside the value.
   */
  interval?: MetricInterval;
}

export interface MetricInterval {
  lo: number;
  hi: number;
  n: number;
  method: IntervalMethod;
  /** What the n independent units are: "seeds", "target classes". */
  unit: string;
  /** The t bounds were cut to the range the measure can take (a share lies in [0, 1]). */
  clipped?: boolean;
}

/** A plain number printed with `digits` decimals (thousands grouped). */
export function numberMetric(label: string, value: number, digits = 0): Metric {
  return { label, value, format: 'number', digits };
}

/** A share printed as a percentage with `digits` decimals. */
export function percentMetric(label: string, value: number, digits = 1): Metric {
  return { label, value, format: 'percent', digits };
}

/**
 * A metric with its interval, when the interval exists (too few units give none: the value stands
 * alone). A t interval can reach past what the measure can take; `range` cuts it there, and the
 * interval says so.
 */
export function withInterval(
  metric: Metric,
  iv: Interval,
  unit: string,
  range: [number, number] = metric.format === 'percent' ? [0, 1] : [-Infinity, Infinity],
): Metric {
  if (iv.lo === null || iv.hi === null || metric.text !== undefined) return metric;
  const lo = Math.max(range[0], iv.lo);
  const hi = Math.min(range[1], iv.hi);
  return {
    ...metric,
    interval: {
      lo,
      hi,
      n: iv.n,
      method: iv.method,
      unit,
      ...(lo !== iv.lo || hi !== iv.hi ? { clipped: true } : {}),
    },
  };
}

/** A job whose artifact feeds headline numbers but is not published as a figure or model. */
export interface AnalysisPlan {
  id: string;
  job: Job;
}

/** A listed job's artifact, typed as that job's (what `metrics` reads). */
export type ReadArtifact = <M>(job: Job<M>) => Artifact<M>;

export interface ReportPlan {
  /** Everything the build used, shown on the report page ("built with"). */
  settings: { [key: string]: Json };
  models: ModelPlan[];
  figures: FigurePlan[];
  analyses?: AnalysisPlan[];
  /**
   * Headline numbers (keys are the names the narrative uses), from the artifacts of the plan's
   * models and analyses: `read(job)` gives a listed job's artifact, typed as that job's.
   */
  metrics(read: ReadArtifact): Record<string, Metric>;
}

/** What a plan may depend on besides the profile. */
export interface PlanContext {
  profile: ProfileName;
  backend: BackendInfo;
  cacheDir: string;
  /** Data locations named on the command line: IDX directories by data set name, and the
   * files `llama-checkpoint`, `llama-tokenizer` and `tinystories`. */
  dataDirs: Record<string, string | undefined>;
  /** For warnings found while planning (e.g. a user's data files that differ from the published ones). */
  log?: Log;
}

export interface ReportSpec {
  id: string;
  title: string;
  /** One sentence for the home page. */
  summary: string;
  /** IDX data sets the report needs (fetched first with --download when missing). */
  datasets?: IdxSource[];
  plan(ctx: PlanContext): ReportPlan;
}

const idSchema = (what: string) =>
  z.string().regex(KEBAB_ID, `${what} must be kebab-case (lower-case letters, digits and single hyphens)`);

const planSchema = z.object({
  models: z.array(z.object({ id: idSchema('model id') })),
  figures: z.array(
    z.object({ id: idSchema('figure id'), title: z.string().min(1), caption: z.string().min(1) }),
  ),
});

/** Checks a report's ids before anything runs: kebab-case, and no figure or model id twice. */
export function validatePlan(report: ReportSpec, plan: ReportPlan): void {
  const where = `report '${report.id}' (pipeline/reports/${report.id}.ts)`;
  if (!KEBAB_ID.test(report.id)) throw new Error(`${where}: report id must be kebab-case`);
  const parsed = planSchema.safeParse(plan);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}: ${issue.path.join('.')}: ${issue.message}`);
  }
  for (const [kind, ids] of [
    ['figure', plan.figures.map((f) => f.id)],
    ['model', plan.models.map((m) => m.id)],
  ] as const) {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) throw new Error(`${where}: ${kind} id '${id}' is used twice`);
      seen.add(id);
    }
  }
}

/**
 * The words for a "directions needed" mean when some seed never got within tolerance by `maxK`
 * (counted as maxK): the mean is then a lower bound, said the same way in every report.
 */
export function censoredNeededText(mean: number, maxK: number): string {
  return `at least ${mean.toFixed(1)} (some seed more than ${maxK})`;
}
