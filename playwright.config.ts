/**
 * Browser tests: Debian's Chromium (npx playwright install cannot download here) against the
 * smoke build of the site, served as static files. `npm run test:e2e` builds the smoke site first
 * (pipeline + Astro, a minute or two cold, seconds when cached), so the tests, which list the
 * built pages when they are collected, see the current build.
 */
import { defineConfig } from '@playwright/test';

const PORT = 4391;

export default defineConfig({
  testDir: 'test/e2e',
  // Two workers, one per core: the pages are static files, and no test writes anything another
  // reads. The limit is generous because an axe scan of the longest page takes 25 s beside another test.
  timeout: 60_000,
  retries: 0,
  workers: 2,
  reporter: process.env.CI ? 'line' : 'list',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `node test/e2e/serve.ts .smoke/dist ${PORT}`,
    url: `http://127.0.0.1:${PORT}/`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
