/**
 * How a report or a figure is cited: a BibTeX entry, a one-line citation and Highwire
 * `citation_*` meta tags (what Google Scholar and Zotero read), all naming the permanent URL and
 * the version. Pure functions of their inputs, so they are unit-tested without a site build.
 */
import type { Project } from './project.ts';

export interface Citable {
  /** What is cited, e.g. "Top eigenvectors of each digit". */
  title: string;
  /** Where it sits, e.g. 'Figure 2 of "MNIST: …"'; absent for a report. */
  within?: string;
  /** A stable key: `mnist/eigenvector-gallery` or `mnist`. */
  id: string;
  /** The absolute permanent URL. */
  url: string;
  /** The version of what is cited beyond the project's (a figure's data digest). */
  dataVersion?: string;
}

/** Escapes the characters BibTeX treats specially, keeping Unicode as it is (biblatex reads UTF-8). */
export function escapeBibtex(text: string): string {
  return text
    .replace(/\\/g, '\\textbackslash{}')
    .replace(/([{}&%$#_])/g, '\\$1')
    .replace(/~/g, '\\textasciitilde{}')
    .replace(/\^/g, '\\textasciicircum{}');
}

/** A BibTeX key from an id: letters, digits and hyphens only. */
export function bibtexKey(project: Project, id: string): string {
  const prefix = project.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `${prefix}:${id.replace(/[^a-z0-9-]+/g, ':')}`;
}

export function bibtex(project: Project, item: Citable): string {
  const title = item.within ? `${item.title} (${item.within})` : item.title;
  const note = [
    `version ${project.version}`,
    item.dataVersion ? `data version ${item.dataVersion}` : '',
    `id ${item.id}`,
  ]
    .filter(Boolean)
    .join(', ');
  const fields: [string, string][] = [
    ['author', project.authors.map((a) => a.bibtex).join(' and ')],
    ['title', `{${escapeBibtex(title)}}`],
    ['howpublished', escapeBibtex(project.title)],
    ['year', project.year],
    ['version', project.version],
    ['note', escapeBibtex(note)],
    ['url', item.url],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  const lines = fields.map(([k, v]) => `  ${k.padEnd(width)} = {${v}}`);
  return `@misc{${bibtexKey(project, item.id)},\n${lines.join(',\n')}\n}`;
}

/** One line: authors (year). Title. Where. Project, version. URL. */
export function shortCitation(project: Project, item: Citable): string {
  const authors = project.authors.map((a) => a.display).join(', ');
  const versions = [`version ${project.version}`, item.dataVersion ? `data version ${item.dataVersion}` : '']
    .filter(Boolean)
    .join(', ');
  return (
    `${authors} (${project.year}). ${item.title}.${item.within ? ` ${item.within}.` : ''} ` +
    `${project.name}, ${versions}. ${item.url}`
  );
}

/** Highwire Press tags, as [name, content] pairs. */
export function highwireTags(project: Project, item: Citable): [string, string][] {
  return [
    ['citation_title', item.within ? `${item.title} (${item.within})` : item.title],
    ...project.authors.map((a): [string, string] => ['citation_author', a.isEntity ? a.display : a.bibtex]),
    ['citation_publication_date', project.released.replace(/-/g, '/')],
    ['citation_publisher', project.name],
    ['citation_abstract_html_url', item.url],
    ['citation_public_url', item.url],
    ['citation_language', 'en'],
  ];
}
