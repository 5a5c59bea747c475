/**
 * /manifest.json: every published artifact (figure files, data, Vega-Lite specs, metadata,
 * weights) with its path under the site's base, size and SHA-256, so a mirror or a reader can
 * check any file. Deterministic: no dates, sorted paths.
 */
import type { APIRoute } from 'astro';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { allReports, reportFigures } from '@site/lib/reports.ts';
import { absoluteUrl, figureFileUrl, modelFileUrl, REPORTS_DIR, url } from '@site/lib/paths.ts';
import { project } from '@site/lib/project.ts';

interface Entry {
  path: string;
  bytes: number;
  sha256: string;
  role: string;
  report: string;
  figure?: string;
}

export const GET: APIRoute = async () => {
  const artifacts: Entry[] = [];
  const profiles = new Set<string>();
  for (const report of await allReports()) {
    profiles.add(report.profile);
    for (const figure of await reportFigures(report)) {
      for (const file of figure.files) {
        artifacts.push({
          path: figureFileUrl(report.id, figure.id, file.name),
          bytes: file.bytes,
          sha256: file.sha256,
          role: file.role,
          report: report.id,
          figure: figure.id,
        });
      }
      const meta = readFileSync(join(REPORTS_DIR, report.id, 'figures', figure.id, 'meta.json'));
      artifacts.push({
        path: figureFileUrl(report.id, figure.id, 'meta.json'),
        bytes: meta.length,
        sha256: createHash('sha256').update(meta).digest('hex'),
        role: 'meta',
        report: report.id,
        figure: figure.id,
      });
    }
    for (const model of report.models) {
      artifacts.push({
        path: modelFileUrl(report.id, model.file.name),
        bytes: model.file.bytes,
        sha256: model.file.sha256,
        role: 'weights',
        report: report.id,
      });
      if (model.checkpoint)
        artifacts.push({
          path: modelFileUrl(report.id, model.checkpoint.name),
          bytes: model.checkpoint.bytes,
          sha256: model.checkpoint.sha256,
          role: 'checkpoint',
          report: report.id,
        });
    }
  }
  artifacts.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = {
    project: project().title,
    version: project().version,
    site: absoluteUrl(url()),
    base: url(),
    profiles: [...profiles].sort(),
    artifacts,
  };
  return new Response(`${JSON.stringify(manifest, null, 2)}\n`, {
    headers: { 'Content-Type': 'application/json' },
  });
};
