// The site: Astro renders content/ (narratives) and reports/ (the pipeline's output) from site/.
// SITE_URL and BASE_PATH publish it under another host or sub-path (GitHub Pages sets both, and
// PUBLISH=1, which refuses to build without a real SITE_URL);
// REPORTS_DIR, CONTENT_DIR and SITE_OUT let tests build a site from temporary inputs without
// touching the real ones; URL_CONTRACT and URL_CONTRACT_FILE control the published-URL check.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import sitemap from '@astrojs/sitemap';
import citable, { defaultOptions } from './site/integrations/citable.ts';
import { normalizeBase, siteAddress } from './site/lib/base.ts';

// Astro keeps collection entries in a data store under cacheDir between builds. Builds from
// different pipeline outputs (the site, the test site, the type check) get separate stores, or
// entries of one would leak into another.
const reportsDir = resolve(process.env.REPORTS_DIR ?? './reports');
const contentDir = resolve(process.env.CONTENT_DIR ?? './content');
const storeId = createHash('sha256').update(`${reportsDir}\0${contentDir}`).digest('hex').slice(0, 12);

export default defineConfig({
  srcDir: './site',
  cacheDir: `./node_modules/.astro/${storeId}`,
  publicDir: './site/public',
  outDir: process.env.SITE_OUT ?? './dist',
  // A local build names http://localhost:4321 and says so on every page; PUBLISH=1 refuses that.
  site: siteAddress(process.env).site,
  base: normalizeBase(process.env.BASE_PATH),
  trailingSlash: 'always',
  // sitemap before citable: citable copies its index to /sitemap.xml once it is written
  integrations: [mdx(), sitemap(), citable(defaultOptions())],
  // Hashed /_astro/ assets are never cited; keep styles inline so each page stands alone.
  build: { format: 'directory', inlineStylesheets: 'always' },
  devToolbar: { enabled: false },
  vite: { build: { rollupOptions: { onwarn: quietAstroDirective } } },
});

/**
 * Astro's MDX compiler marks every MDX page that imports styled components with its own module
 * directive, "use astro:head-inject", which the bundler then warns may not survive bundling: once
 * per page, every build, for something Astro itself handles (withastro/astro#18087, open). Only
 * that warning is dropped; any other directive or warning still reaches the log.
 */
function quietAstroDirective(warning, warn) {
  if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.message.includes('"use astro:head-inject"'))
    return;
  warn(warning);
}
