/**
 * Nothing wrong is ever published, tried as a hostile user would on the smoke profile (the CLI, in
 * child processes): every kind of damage to the cache is found, said, removed and rebuilt, and the
 * next build publishes the same bytes as a clean one; a figure rebuilt alone is byte for byte the
 * one a cold build drew; builds killed at random points resume to a clean build's bytes; builds
 * started together on one cache and one output folder all succeed with the same bytes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Rng } from '../../pipeline/util/random.ts';
import { digest } from '../helpers/digest.ts';

const CLI = new URL('../../pipeline/cli.ts', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'robustness-'));
const clean = { out: join(root, 'clean-out'), cache: join(root, 'clean-cache') };
let cleanBytes: Record<string, string>;

type Build = { out: string; cache: string };

function args(build: Build, extra: string[]): string[] {
  return [CLI, '--profile', 'smoke', '--workers', '2', '--out', build.out, '--cache', build.cache, ...extra];
}

function run(build: Build, ...extra: string[]) {
  const r = spawnSync(process.execPath, args(build, extra), {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: r.status, stderr: r.stderr };
}

/** The same, without waiting: resolves with the exit code (or signal) and what it said. */
function start(build: Build, extra: string[] = [], killAfterMs?: number, signal: NodeJS.Signals = 'SIGKILL') {
  const child = spawn(process.execPath, args(build, extra), { env: { ...process.env, FORCE_COLOR: '0' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (killAfterMs !== undefined) setTimeout(() => child.kill(signal), killAfterMs);
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig, stderr })),
  );
}

/** A copy of the clean build's cache, with its own output folder. */
function copyOfClean(name: string): Build {
  const build = { out: join(root, `${name}-out`), cache: join(root, `${name}-cache`) };
  cpSync(clean.cache, build.cache, { recursive: true });
  return build;
}

/** The entry folder of the job with this stage and label. */
function entry(cache: string, stage: string, label: string): string {
  for (const key of readdirSync(join(cache, stage))) {
    const dir = join(cache, stage, key);
    if (
      existsSync(join(dir, 'entry.json')) &&
      (JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as { label: string }).label === label
    )
      return dir;
  }
  throw new Error(`no ${stage} entry labelled ${label} in ${cache}`);
}

/** Temporary folders (staging, set aside) and locks anywhere under dir: none may be left. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) =>
    /(^|\/)(\.staging-|\.old-|\.damaged-|\.build\.lock)/.test(p),
  );
}

before(() => {
  const r = run(clean);
  assert.equal(r.code, 0, r.stderr);
  cleanBytes = digest(clean.out);
  assert.ok(Object.keys(cleanBytes).length > 300, 'the clean build published little');
});

after(() => rmSync(root, { recursive: true, force: true }));

/** Each kind of damage, as [stage, label, what, damage]; the build must say each in one line. */
const DAMAGE: [string, string, string, (dir: string) => void][] = [
  [
    'train',
    'mnist/model',
    '16 flipped bytes in the weights',
    (dir) => {
      const path = join(dir, 'tensors.safetensors');
      const bytes = readFileSync(path);
      for (let i = 0; i < 16; i++) bytes[bytes.length - 64 - i]! ^= 0xff;
      writeFileSync(path, bytes);
    },
  ],
  ['train', 'mnist/recipe', 'deleted weights', (dir) => rmSync(join(dir, 'tensors.safetensors'))],
  [
    'train',
    'mnist/unregularized',
    'an edited test accuracy',
    (dir) => {
      const path = join(dir, 'meta.json');
      const text = readFileSync(path, 'utf8');
      const edited = text.replace(/("accuracy": )0\.\d+/, '$10.999');
      assert.notEqual(edited, text);
      writeFileSync(path, edited);
    },
  ],
  [
    'figure',
    'mnist/eigenvalue-spectra',
    'a deleted data.json',
    (dir) => rmSync(join(dir, 'files', 'data.json')),
  ],
  [
    'figure',
    'mnist/training-curves',
    'a half-truncated data.json',
    (dir) => {
      const path = join(dir, 'files', 'data.json');
      truncateSync(path, Math.floor(readFileSync(path).length / 2));
    },
  ],
  [
    'figure',
    'mnist/hosvd-spectrum (png)',
    'a 0-byte figure.png',
    (dir) => writeFileSync(join(dir, 'files', 'figure.png'), ''),
  ],
  [
    'figure',
    'mnist/perturbation-check',
    'a deleted figure.svg',
    (dir) => rmSync(join(dir, 'files', 'figure.svg')),
  ],
  [
    'analysis',
    'mnist/model (truncation)',
    'an invalid meta.json',
    (dir) => writeFileSync(join(dir, 'meta.json'), '{"ks": [1, 2'),
  ],
  [
    'decompose',
    'mnist/model',
    'half-truncated eigenvectors',
    (dir) => {
      const path = join(dir, 'tensors.safetensors');
      truncateSync(path, Math.floor(readFileSync(path).length / 2));
    },
  ],
  [
    'analysis',
    'mnist/model (perturbation check)',
    'an invalid entry.json',
    (dir) => writeFileSync(join(dir, 'entry.json'), '{"stage": "anal'),
  ],
];

test('fault injection: every kind of damaged cache file is said in one line, removed and rebuilt; the build publishes the clean bytes', () => {
  const build = copyOfClean('damaged');
  for (const [stage, label, , damage] of DAMAGE) damage(entry(build.cache, stage, label));
  // An entry folder without its entry.json is an entry that was never completed: rebuilt, not reported.
  rmSync(join(entry(build.cache, 'figure', 'fashion-mnist/eigenvector-gallery'), 'entry.json'));
  const r = run(build);
  assert.equal(r.code, 0, r.stderr);
  const said = r.stderr.split('\n').filter((line) => line.startsWith('[damaged]'));
  for (const [stage, label, what] of DAMAGE) {
    const lines = said.filter((line) => line.includes(`${stage} ${label} `));
    assert.equal(
      lines.length,
      1,
      `${what} (${stage} ${label}) was said ${lines.length} times:\n${said.join('\n')}`,
    );
    assert.match(lines[0]!, /\.(json|safetensors|png|svg): .*; removed, rebuilding$/);
  }
  assert.equal(said.length, DAMAGE.length, said.join('\n'));
  assert.deepEqual(
    digest(build.out),
    cleanBytes,
    'the build over a damaged cache published other bytes than a clean build',
  );
  assert.deepEqual(leftovers(build.cache), []);
  const again = run(build);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 job\(s\) built/);
  assert.doesNotMatch(again.stderr, /\[damaged\]/, 'the repaired entries do not verify');
});

test('a figure rebuilt alone over a warm cache is byte for byte the one the cold build drew (no render-order ids)', () => {
  // A heatmap drawn after many other charts in the cold build: Vega's gradient ids would differ.
  const build = copyOfClean('alone');
  cpSync(clean.out, build.out, { recursive: true });
  const figure = 'ablations/heatmap-cross-seed-gain';
  const svg = readFileSync(join(clean.out, figure.replace('/', '/figures/'), 'figure.svg'), 'utf8');
  assert.match(svg, /gradient_\d+/, 'the figure chosen has no gradient to test');
  rmSync(entry(build.cache, 'figure', figure), { recursive: true });
  rmSync(entry(build.cache, 'figure', `${figure} (png)`), { recursive: true });
  rmSync(join(build.out, figure.replace('/', '/figures/')), { recursive: true });
  const r = run(build, '--only', figure);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`\\[built\\]\\s+figure ${figure} `));
  assert.deepEqual(digest(build.out), cleanBytes);
  // and the whole warm build over it changes nothing
  const whole = run(build);
  assert.equal(whole.code, 0, whole.stderr);
  assert.deepEqual(digest(build.out), cleanBytes);
});

test('builds killed at random points (SIGKILL and SIGINT) resume to the bytes of a clean build', async () => {
  const build = { out: join(root, 'killed-out'), cache: join(root, 'killed-cache') };
  const rng = new Rng(14);
  const kills: string[] = [];
  for (let i = 0; i < 4; i++) {
    const delay = 400 + rng.int(3600);
    const signal = i % 2 === 0 ? 'SIGKILL' : 'SIGINT';
    const r = await start(build, [], delay, signal);
    kills.push(`${signal} at ${delay} ms: ${r.signal ?? `exit ${r.code}`}`);
    assert.doesNotMatch(
      r.stderr,
      /\[damaged\]/,
      `an interrupted build damaged the cache (${kills.join('; ')})`,
    );
  }
  const r = run(build);
  assert.equal(r.code, 0, `${kills.join('; ')}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\[damaged\]/);
  assert.deepEqual(digest(build.out), cleanBytes, `after ${kills.join('; ')}`);
  assert.deepEqual(leftovers(build.cache), [], 'the resumed build left staging folders of the killed ones');
  assert.deepEqual(leftovers(build.out), []);
});

test('eight warm builds started 0.3 s apart on one cache and one output folder all succeed, with the clean bytes', async () => {
  const build = copyOfClean('concurrent');
  const runs = [];
  for (let i = 0; i < 8; i++) {
    runs.push(start(build));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const results = await Promise.all(runs);
  results.forEach((r, i) => assert.equal(r.code, 0, `build ${i}: ${r.stderr}`));
  assert.ok(
    results.some((r) => /\[waiting\]/.test(r.stderr)),
    'no build waited for another: the test did not overlap them',
  );
  assert.deepEqual(digest(build.out), cleanBytes);
  assert.deepEqual(leftovers(build.out), []);
  assert.deepEqual(leftovers(build.cache), []);
});

test('two cold builds at once on one cache (each its own output folder) both succeed, with the clean bytes', async () => {
  const cache = join(root, 'shared-cache');
  const a = { out: join(root, 'shared-a'), cache };
  const b = { out: join(root, 'shared-b'), cache };
  const [ra, rb] = await Promise.all([start(a, ['--workers', '1']), start(b, ['--workers', '1'])]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual(digest(a.out), cleanBytes);
  assert.deepEqual(digest(b.out), cleanBytes);
  assert.deepEqual(leftovers(cache), []);
});
