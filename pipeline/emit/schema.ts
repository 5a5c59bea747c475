/**
 * The contract between the pipeline and the site: the shape of reports/<report>/report.json and
 * reports/<report>/figures/<figure>/meta.json. The emitter validates against these schemas before
 * writing, and the site's content collections parse with the same schemas.
 */
import { z } from 'zod';
import { MIN_UNITS } from '../analysis/stats.ts';

const id = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const fileEntrySchema = z.object({
  /** File name inside the figure's (or report's) folder; the URL is the folder's URL + name. */
  name: z.string(),
  role: z.enum([
    'figure',
    'figure-narrow',
    'png',
    'vega-lite',
    'data-json',
    'data-csv',
    'weights',
    'checkpoint',
    'page-figure',
  ]),
  bytes: z.number().int().nonnegative(),
  sha256,
});

export const provenanceSchema = z.object({
  /** Hash of everything that determined the artifact: its job's cache key. */
  configHash: sha256,
  dataName: z.string(),
  dataSource: z.string(),
  dataHash: sha256,
  /** Every data set upstream (a study over two data sets names both); the first is dataName's. */
  datasets: z.array(z.object({ name: z.string(), source: z.string(), hash: sha256 })).min(1),
  seed: z.number().int(),
  /** Every training seed upstream, ascending (empty when nothing upstream is trained). */
  seeds: z.array(z.number().int()),
  /**
   * The seeds the data was made with (a split's, a sampler's), by where they sit in the data
   * jobs' settings, e.g. { "split.seed": 7, "source.sampling.seed": 2024 }.
   */
  dataSeeds: z.record(z.string(), z.number().int()).default({}),
  backend: z.string(),
  backendDetail: z.string(),
  tfjsVersion: z.string(),
  /** Hash of the source files and library versions of each stage that made it. */
  codeVersion: z.record(z.string(), z.string()),
  profile: z.enum(['smoke', 'default', 'paper']),
  /** The command that regenerates exactly this artifact. */
  command: z.string(),
});

export const figureMetaSchema = z.object({
  id,
  report: id,
  title: z.string(),
  caption: z.string(),
  kind: z.enum(['image', 'chart', 'table', 'text']),
  alt: z.string(),
  /**
   * What the site shows as HTML for a table or a text (the SVG stays a download); for a chart or an image,
   * its numbers as a table beneath it (readable on a phone).
   */
  html: z
    .union([
      z.object({
        table: z.object({
          columns: z.array(z.string()),
          rows: z.array(z.array(z.string())),
          groupEvery: z.number().int().positive().optional(),
        }),
      }),
      z.object({ passages: z.array(z.array(z.string())) }),
    ])
    .optional(),
  width: z.number().positive(),
  height: z.number().positive(),
  /** The size of the chart's narrow form (figure-narrow.svg), when its panels stack for a phone. */
  narrow: z.object({ width: z.number().positive(), height: z.number().positive() }).optional(),
  files: z.array(fileEntrySchema),
  /** Pages of their own under the figure's permalink, e.g. one per explained input. */
  pages: z
    .array(
      z.object({
        id,
        title: z.string(),
        caption: z.string(),
        alt: z.string(),
        file: z.string(),
        table: z.object({
          columns: z.array(z.string()),
          rows: z.array(z.array(z.union([z.string(), z.number()]))),
        }),
      }),
    )
    .default([]),
  /**
   * Every trained model the figure was made from (all runs of a sweep for an aggregate figure),
   * published at reports/<report>/models/<file>.
   */
  models: z
    .array(
      z.object({
        id,
        file: z.string(),
        sha256,
        /** The model's training-job hash (its cache key). */
        configHash: sha256,
        seed: z.number().int(),
        /** The data set it was trained on, and the SHA-256 of that data. */
        dataName: z.string(),
        dataHash: sha256,
      }),
    )
    .default([]),
  provenance: provenanceSchema,
});

export const metricSchema = z.object({
  label: z.string(),
  value: z.number(),
  format: z.enum(['percent', 'number']),
  digits: z.number().int().nonnegative(),
  /** The value as the site prints it. */
  display: z.string(),
  /** The 95% interval of a mean: bounds, method, n and what n counts, and how the site prints it. */
  interval: z
    .object({
      lo: z.number(),
      hi: z.number(),
      n: z.number().int().min(MIN_UNITS, `an interval needs at least ${MIN_UNITS} units`),
      method: z.enum(['t', 'nested', 'jackknife']),
      unit: z.string(),
      clipped: z.boolean().optional(),
      display: z.string(),
      /** The bounds alone ("3.5 to 8.5") and how the interval was made ("t interval, n = 3 seeds"). */
      range: z.string(),
      how: z.string(),
    })
    .optional(),
});

export const reportMetaSchema = z.object({
  id,
  /** Position in the pipeline's list of reports: the order the site lists them in. */
  order: z.number().int().nonnegative(),
  title: z.string(),
  summary: z.string(),
  profile: z.enum(['smoke', 'default', 'paper']),
  settings: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), metricSchema),
  /** Figure ids in the order the pipeline defines them. */
  figures: z.array(id),
  models: z.array(
    z.object({
      id,
      description: z.string(),
      file: fileEntrySchema,
      /** The same weights as the kind's checkpoint file, when the report publishes one. */
      checkpoint: fileEntrySchema.extend({ format: z.string() }).optional(),
      tensors: z.array(z.object({ name: z.string(), dtype: z.string(), shape: z.array(z.number().int()) })),
    }),
  ),
  provenance: provenanceSchema,
});

/**
 * timings.json: what each job of a report took to build, on the machine that built it. The one
 * file of a report that differs between builds (everything else is byte-reproducible), so it is
 * kept apart from report.json and the figures.
 */
export const timingsSchema = z.object({
  report: id,
  machine: z.object({
    cpus: z.number().int().positive(),
    cpu: z.string(),
    node: z.string(),
    workers: z.number().int().nonnegative(),
  }),
  jobs: z.array(
    z.object({ label: z.string(), stage: z.string(), kind: z.string(), seconds: z.number().nonnegative() }),
  ),
});

export type FigureMeta = z.infer<typeof figureMetaSchema>;
export type Timings = z.infer<typeof timingsSchema>;
export type ReportMeta = z.infer<typeof reportMetaSchema>;
export type FileEntry = z.infer<typeof fileEntrySchema>;
export type Provenance = z.infer<typeof provenanceSchema>;
