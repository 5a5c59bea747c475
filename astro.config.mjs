// The site: Astro renders content/ (narratives) and reports/ (the pipeline's output) from site/.
// SITE_URL and BASE_PATH publish it under another host or sub-path; REPORTS_DIR and SITE_OUT let
// tests build a site from a temporary pipeline output without touching the real one.
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

export default defineConfig({
  srcDir: './site',
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
