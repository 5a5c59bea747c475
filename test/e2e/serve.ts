/**
 * A small static file server for the built site: what a static host does, so browser tests see
 * exactly the files in dist/ (and no dev-server magic). Usage: node test/e2e/serve.ts <dir> <port> [base]
 * With a base path (e.g. /bilinear/), the site is served under it, as GitHub Pages serves a project site.
 */
import { createServer } from 'node:http';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { normalizeBase } from '../../site/lib/base.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.txt': 'text/plain; charset=utf-8',
};

const root = resolve(process.argv[2] ?? 'dist');
const port = Number(process.argv[3] ?? 4321);
const base = normalizeBase(process.argv[4]);
if (!existsSync(root)) {
  process.stderr.write(`no built site at ${root}; build it first (npm run build, or npm run build:smoke)\n`);
  process.exit(2);
}

createServer((req, res) => {
  let requested: string;
  try {
    requested = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return void res
      .writeHead(400, { 'Content-Type': 'text/plain' })
      .end('bad request: the path cannot be decoded');
  }
  if (!`${requested}/`.startsWith(base))
    return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
  const path = normalize(`/${requested.slice(base.length)}`);
  let file = join(root, path);
  if (!file.startsWith(root)) return void res.writeHead(403).end();
  if (existsSync(file) && statSync(file).isDirectory()) {
    if (!requested.endsWith('/')) return void res.writeHead(301, { Location: `${requested}/` }).end();
    file = join(file, 'index.html');
  }
  if (!existsSync(file)) {
    // as static hosts do: the site's own 404 page, when it has one
    const notFound = join(root, '404.html');
    if (!existsSync(notFound))
      return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return void res.writeHead(404, { 'Content-Type': TYPES['.html']! }).end(readFileSync(notFound));
  }
  const type = Object.hasOwn(TYPES, extname(file)) ? TYPES[extname(file)]! : 'application/octet-stream';
  const stream = createReadStream(file);
  // A file that cannot be read (removed since the check, or unreadable) ends this response, not the server.
  stream.on('error', () => {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('could not read the file');
    else res.destroy();
  });
  stream.once('open', () => {
    res.writeHead(200, { 'Content-Type': type });
    stream.pipe(res);
  });
}).listen(port, '127.0.0.1', () =>
  process.stdout.write(`serving ${root} at http://127.0.0.1:${port}${base}\n`),
);
