/**
 * Content collections. Narratives are the MDX files of content/; reports and figures are the
 * small metadata files the pipeline wrote into reports/, parsed with the pipeline's own schemas.
 * Heavy arrays stay in files next to them (served by the download endpoints), never in a collection.
 */
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { z } from 'astro/zod';
import { figureMetaSchema, reportMetaSchema, timingsSchema } from '../pipeline/emit/schema.ts';
import { CONTENT_DIR, REPORTS_DIR } from './lib/paths.ts';

const narratives = defineCollection({
  loader: glob({ pattern: '*.mdx', base: CONTENT_DIR }),
  schema: z.object({
    /** Optional lede shown under the title; the title itself comes from the report spec. */
    lede: z.string().optional(),
  }),
});

const reports = defineCollection({
  loader: glob({ pattern: '*/report.json', base: REPORTS_DIR, generateId: ({ data }) => String(data['id']) }),
  schema: reportMetaSchema,
});

const figures = defineCollection({
  loader: glob({
    pattern: '*/figures/*/meta.json',
    base: REPORTS_DIR,
    generateId: ({ data }) => `${String(data['report'])}/${String(data['id'])}`,
  }),
  schema: figureMetaSchema,
});

/** What each job of a report took to build (the one file that differs between builds). */
const timings = defineCollection({
  loader: glob({
    pattern: '*/timings.json',
    base: REPORTS_DIR,
    generateId: ({ data }) => String(data['report']),
  }),
  schema: timingsSchema,
});

export const collections = { narratives, reports, figures, timings };
