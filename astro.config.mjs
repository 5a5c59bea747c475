// The site: Astro renders content/ (narratives) and reports/ (the pipeline's output) from site/.
// SITE_URL and BASE_PATH publish it under another host or sub-path; REPORTS_DIR and SITE_OUT let
// tests build a site from a temporary pipeline output without touching the real one.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

// Astro keeps collection entries in a data store under cacheDir between builds. Builds from
// different pipeline outputs (the site, the test site, the type check) get separate stores, or
// entries of one would leak into another.
const reportsDir = resolve(process.env.REPORTS_DIR ?? './reports');
const storeId = createHash('sha256').update(reportsDir).digest('hex').slice(0, 12);

export default defineConfig({
  srcDir: './site',
  cacheDir: `./node_modules/.astro/${storeId}`,
  publicDir: './site/public',
  outDir: process.env.SITE_OUT ?? './dist',
  site: process.env.SITE_URL ?? 'http://localhost:4321',
  base: process.env.BASE_PATH ?? '/',
  trailingSlash: 'always',
  integrations: [mdx()],
  // Hashed /_astro/ assets are never cited; keep styles inline so each page stands alone.
  build: { format: 'directory', inlineStylesheets: 'always' },
  devToolbar: { enabled: false },
});
