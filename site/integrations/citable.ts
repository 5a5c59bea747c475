/**
 * The build's guarantees about citable URLs, as an Astro integration:
 *
 * 1) before building: every <Figure>/<FigureRef> in the narratives names a figure that exists;
 * 2) before building: every URL in site/published-urls.json is still published, or listed as
 *    moved (enforced for the published profiles; URL_CONTRACT=enforce|warn|off overrides);
 * 3) after building: the listed pages really are in the output, a redirect page stands at every
 *    moved URL, and /sitemap.xml is there (the sitemap integration names its index
 *    sitemap-index.xml).
 */
import type { AstroIntegration, AstroIntegrationLogger } from 'astro';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAllReferences } from '../lib/references.ts';
import {
  checkContract,
  contractError,
  publishedPaths,
  readContract,
  redirectPage,
  reportProfiles,
  type Contract,
} from '../lib/url-contract.ts';

export interface CitableOptions {
  reportsDir: string;
  contentDir: string;
  pagesDir: string;
  contractFile: string;
}

type Mode = 'enforce' | 'warn' | 'off';

/** Enforced when the reports are the published ones (default or paper profile); smoke builds only warn. */
export function contractMode(reportsDir: string, env = process.env.URL_CONTRACT): Mode {
  if (env === 'enforce' || env === 'warn' || env === 'off') return env;
  if (env) throw new Error(`URL_CONTRACT must be enforce, warn or off, got '${env}'`);
  const profiles = reportProfiles(reportsDir);
  return profiles.length > 0 && profiles.every((p) => p !== 'smoke') ? 'enforce' : 'warn';
}

export default function citable(options: CitableOptions): AstroIntegration {
  let base = '/';
  let site = 'http://localhost/';
  let contract: Contract | null = null;
  return {
    name: 'citable',
    hooks: {
      'astro:config:setup': ({ config, command, logger }) => {
        base = config.base.replace(/\/?$/, '/');
        site = config.site ?? site;
        if (command === 'sync') return;
        const problems = checkAllReferences(
          process.cwd(),
          options.contentDir,
          options.pagesDir,
          options.reportsDir,
        );
        if (problems.length > 0)
          throw new Error(`unknown figure reference(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
        if (command === 'build') contract = checkContractBeforeBuild(options, base, logger);
      },
      'astro:build:done': ({ dir, logger }) => {
        if (!contract) return;
        const out = fileURLToPath(dir);
        checkBuiltPages(contract, out, base, options.contractFile);
        writeRedirects(contract, out, base, site, logger);
        if (existsSync(join(out, 'sitemap-index.xml')))
          copyFileSync(join(out, 'sitemap-index.xml'), join(out, 'sitemap.xml'));
      },
    },
  };
}

function checkContractBeforeBuild(
  options: CitableOptions,
  base: string,
  logger: AstroIntegrationLogger,
): Contract | null {
  const mode = contractMode(options.reportsDir);
  if (mode === 'off') return null;
  const contract = readContract(options.contractFile);
  const check = checkContract(contract, publishedPaths(options.reportsDir));
  const error = contractError(check, base, relative(process.cwd(), options.contractFile));
  if (error && mode === 'enforce') throw new Error(error);
  if (error)
    logger.warn(`${error}\n(only a warning for a smoke build: URL_CONTRACT=enforce makes it an error)`);
  if (check.unlisted.length > 0) {
    const file = relative(process.cwd(), options.contractFile);
    const shown = check.unlisted.slice(0, 5).map((u) => base + u);
    logger.info(
      `${check.unlisted.length} published URL(s) not yet in ${file} (npm run urls:update after a default ` +
        `build): ${shown.join(', ')}${check.unlisted.length > 5 ? ', …' : ''}`,
    );
  }
  return mode === 'enforce' ? contract : keepValid(contract, check);
}

/** In warn mode, what of the contract still holds: the present URLs and the moves that lead somewhere. */
function keepValid(contract: Contract, check: ReturnType<typeof checkContract>): Contract {
  const broken = new Set([...check.stillPresent, ...check.brokenMoves.map(([from]) => from)]);
  return {
    ...contract,
    urls: contract.urls.filter((u) => !check.missing.includes(u) && !broken.has(u)),
    moved: Object.fromEntries(Object.entries(contract.moved).filter(([from]) => !broken.has(from))),
  };
}

/** Every listed, unmoved URL must have a page in the output (catches a broken route, too). */
function checkBuiltPages(contract: Contract, out: string, base: string, file: string): void {
  const missing = contract.urls.filter(
    (u) => !(u in contract.moved) && !existsSync(join(out, u, 'index.html')),
  );
  if (missing.length > 0) {
    throw new Error(
      `published URL contract broken (${relative(process.cwd(), file)}): no ` +
        `page was built for\n${missing.map((u) => `  ${base}${u}`).join('\n')}`,
    );
  }
}

function writeRedirects(
  contract: Contract,
  out: string,
  base: string,
  site: string,
  logger: AstroIntegrationLogger,
): void {
  for (const [from, to] of Object.entries(contract.moved)) {
    const target = join(out, from, 'index.html');
    // a page is built there again; the contract check said so in enforce mode
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, redirectPage(`${base}${to}`, new URL(`${base}${to}`, site).href));
    logger.info(`redirect ${base}${from} → ${base}${to}`);
  }
}

export function defaultOptions(root = process.cwd()): CitableOptions {
  return {
    reportsDir: resolve(root, process.env.REPORTS_DIR ?? 'reports'),
    contentDir: resolve(root, process.env.CONTENT_DIR ?? 'content'),
    pagesDir: resolve(root, 'site/pages'),
    contractFile: resolve(root, process.env.URL_CONTRACT_FILE ?? 'site/published-urls.json'),
  };
}
