/**
 * The "code version" of a job: a hash of the source of the modules that decide its result and of
 * everything they import (followed transitively through relative imports), plus the installed
 * version of every package they import. It goes into every cache key, so editing a module
 * rebuilds exactly the jobs whose code reaches it: one figure's renderer re-renders that figure,
 * a caption in a report spec re-renders nothing (captions are written by the emitter), and an
 * upgraded library rebuilds the jobs that call it.
 *
 * Type-only imports are skipped (they are erased before the code runs). A module whose behaviour
 * depends on a file it does not import names it in a comment: `@code-depends` and a relative path
 * (the native addon names its C source this way).
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../util/hash.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

// Static imports and re-exports that are not `import type` / `export type`, side-effect imports,
// dynamic imports and requires of a literal specifier.
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s+(?!type\s)[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
];
const DEPENDS = /@code-depends\s+(\S+)/g;

export interface ModuleClosure {
  /** Files (relative to the repository root) whose content decides the result. */
  files: string[];
  /** Packages imported anywhere in the closure. */
  packages: string[];
}

/** The files and packages reached from `modules` (file URLs or paths). */
export function moduleClosure(modules: string[]): ModuleClosure {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (path: string) => {
    if (files.has(path)) return;
    files.add(path);
    const source = readFileSync(path, 'utf8');
    if (!/\.(ts|js|mjs)$/.test(path)) return;
    for (const spec of specifiers(source)) {
      if (spec.startsWith('.')) visit(resolve(dirname(path), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(packageName(spec));
    }
    for (const match of source.matchAll(DEPENDS)) {
      const target = resolve(dirname(path), match[1]!);
      if (!existsSync(target))
        throw new Error(
          `${relative(ROOT, path)}: its code-depends comment names ${match[1]}, which does not exist`,
        );
      visit(target);
    }
  };
  for (const module of modules) visit(module.startsWith('file:') ? fileURLToPath(module) : module);
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

function specifiers(source: string): string[] {
  return IMPORT_PATTERNS.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const memo = new Map<string, string>();

/** The code version of the given modules: 16 hex digits. */
export function codeVersion(modules: string[]): string {
  const id = [...modules].sort().join('\n');
  const cached = memo.get(id);
  if (cached) return cached;
  const closure = moduleClosure(modules);
  const parts = closure.files.map((file) => `${file}\0${sha256(readFileSync(join(ROOT, file)))}`);
  parts.push(...closure.packages.map((name) => `${name}@${libraryVersion(name)}`));
  const version = sha256(parts.join('\n')).slice(0, 16);
  memo.set(id, version);
  return version;
}

/** The project's optional dependencies: absent ones are recorded as such, not an error. */
const OPTIONAL = new Set(
  Object.keys(
    (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        optionalDependencies?: Record<string, string>;
      }
    ).optionalDependencies ?? {},
  ),
);

/**
 * The installed version of a package (read from its package.json, which `exports` may hide); 'absent' for an
 * optional one that is not installed.
 */
export function libraryVersion(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    const manifest = join(dir, name, 'package.json');
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  if (OPTIONAL.has(name)) return 'absent';
  throw new Error(`package '${name}' is imported but not installed; run npm ci`);
}

/** Forgets the memoised code versions (a process that outlives an edit, such as a test, recomputes them). */
export function forgetCodeVersions(): void {
  memo.clear();
}
