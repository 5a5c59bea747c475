/**
 * The project as it asks to be cited: read from CITATION.cff at the repository root, the one
 * place where the title, authors, version and release date live.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const person = z.union([
  z.looseObject({ 'family-names': z.string().min(1), 'given-names': z.string().optional() }),
  z.looseObject({ name: z.string().min(1) }),
]);

/**
 * The part of the Citation File Format 1.2.0 schema the site relies on, with the format's own
 * rules for those keys (required keys, version string, ISO date).
 */
export const citationCffSchema = z.looseObject({
  'cff-version': z.literal('1.2.0'),
  message: z.string().min(1),
  title: z.string().min(1),
  authors: z.array(person).min(1),
  type: z.enum(['software', 'dataset']).optional(),
  version: z.union([z.string(), z.number()]).transform(String),
  'date-released': z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date-released must be YYYY-MM-DD'),
  license: z.string().optional(),
  abstract: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  'repository-code': z.url().optional(),
  url: z.url().optional(),
});

export interface Project {
  title: string;
  /** Short name used as the publisher and in short citations. */
  name: string;
  /** Authors as BibTeX wants them: "Family, Given", or an organisation's name. */
  authors: { bibtex: string; display: string; isEntity: boolean }[];
  version: string;
  /** YYYY-MM-DD */
  released: string;
  year: string;
}

export const CITATION_FILE = resolve('CITATION.cff');

export function parseCitationCff(text: string, file = 'CITATION.cff'): Project {
  const parsed = citationCffSchema.safeParse(parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const cff = parsed.data;
  return {
    title: cff.title,
    name: cff.title.split(':')[0]!.trim(),
    authors: cff.authors.map((a) =>
      'name' in a && typeof a.name === 'string'
        ? { bibtex: `{${a.name}}`, display: a.name, isEntity: true }
        : {
            bibtex: [a['family-names'], a['given-names']].filter(Boolean).join(', '),
            display: [a['given-names'], a['family-names']].filter(Boolean).join(' '),
            isEntity: false,
          },
    ),
    version: cff.version,
    released: cff['date-released'],
    year: cff['date-released'].slice(0, 4),
  };
}

let memo: Project | undefined;

/** The project's citation metadata (read once per build). */
export function project(): Project {
  memo ??= parseCitationCff(readFileSync(CITATION_FILE, 'utf8'), CITATION_FILE);
  return memo;
}
