/** A report's model weights at /reports/<report>/models/<model>.safetensors (and checkpoint files). */
import type { APIRoute } from 'astro';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allReports } from '@site/lib/reports.ts';
import { REPORTS_DIR } from '@site/lib/paths.ts';
import { contentType } from '@site/lib/content-type.ts';

export async function getStaticPaths() {
  return (await allReports()).flatMap((report) =>
    report.models.flatMap((m) =>
      [m.file, ...(m.checkpoint ? [m.checkpoint] : [])].map((f) => ({
        params: { report: report.id, file: f.name },
      })),
    ),
  );
}

export const GET: APIRoute = ({ params }) => {
  const path = join(REPORTS_DIR, params.report!, 'models', params.file!);
  return new Response(readFileSync(path), { headers: { 'Content-Type': contentType(params.file!) } });
};
