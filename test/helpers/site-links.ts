/**
 * An internal link checker for a built static site: every href and src on every page (and the
 * same-site absolute URLs of canonical links and meta tags) must name a file that exists, and
 * every #fragment an id on the target page. URLs must live under the site's base path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface LinkProblem {
  page: string;
  link: string;
  problem: string;
}

/** Every HTML file under dir, as site paths relative to dir (`reports/mnist/index.html`). */
export function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.html')) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/** The links of a page: href and src attributes, and same-site URLs in meta content. */
export function linksOf(html: string): string[] {
  const links: string[] = [];
  for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) links.push(decode(m[1]!));
  for (const m of html.matchAll(/<meta [^>]*content="(https?:\/\/[^"]*)"/g)) links.push(decode(m[1]!));
  for (const m of html.matchAll(/http-equiv="refresh" content="\d+;\s*url=([^"]*)"/g))
    links.push(decode(m[1]!));
  return links;
}

export function idsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decode(m[1]!)));
}

/**
 * Checks every page under `dir`, a site served at `origin` + `base` (base like `/` or `/bilinear/`).
 * Links to other hosts are not followed.
 */
export function checkSite(
  dir: string,
  base: string,
  origin: string,
): { pages: number; links: number; problems: LinkProblem[] } {
  const problems: LinkProblem[] = [];
  const idCache = new Map<string, Set<string>>();
  const ids = (file: string) => {
    if (!idCache.has(file)) idCache.set(file, idsOf(readFileSync(file, 'utf8')));
    return idCache.get(file)!;
  };
  const pages = htmlFiles(dir);
  let links = 0;
  for (const page of pages) {
    const pageUrl = new URL(`${base}${page.replace(/(^|\/)index\.html$/, '$1')}`, origin);
    const html = readFileSync(join(dir, page), 'utf8');
    for (const link of linksOf(html)) {
      if (/^(mailto:|data:|javascript:)/.test(link)) continue;
      const target = new URL(link, pageUrl);
      if (target.origin !== new URL(origin).origin) continue;
      links++;
      const report = (problem: string) => problems.push({ page, link, problem });
      if (!target.pathname.startsWith(base)) {
        report(`outside the base path ${base}`);
        continue;
      }
      const rest = decodeURIComponent(target.pathname.slice(base.length));
      let file = join(dir, rest);
      if (rest === '' || rest.endsWith('/')) file = join(file, 'index.html');
      else if (existsSync(file) && statSync(file).isDirectory()) {
        report('a directory without a trailing slash');
        continue;
      }
      if (!existsSync(file)) {
        report('no such file');
        continue;
      }
      const fragment = decodeURIComponent(target.hash.slice(1));
      if (fragment && file.endsWith('.html') && !ids(file).has(fragment))
        report(`no element with id '${fragment}'`);
    }
  }
  return { pages: pages.length, links, problems };
}
