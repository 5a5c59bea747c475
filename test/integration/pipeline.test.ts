/**
 * The pipeline end to end on the smoke profile, run as a user runs it (the CLI, in a child
 * process) into a temporary directory: what it writes, that a rerun builds nothing and a forced
 * rebuild gives the same bytes, one-figure builds, bad input, and an interrupted build.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { digest } from '../helpers/digest.ts';
import { readLlamaCheckpoint } from '../../pipeline/data/llama-checkpoint.ts';
import { llamaFromCheckpoint } from '../../pipeline/models/llama.ts';
import { decodeSafetensors } from '../../pipeline/tensors/safetensors.ts';
import { figureMetaSchema, reportMetaSchema, timingsSchema } from '../../pipeline/emit/schema.ts';

const CLI = new URL('../../pipeline/cli.ts', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'pipeline-smoke-'));
const out = join(root, 'reports');
const cache = join(root, 'cache');

function pipeline(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** The smoke build with two worker threads (so the pool is exercised whatever the machine). */
function smoke(...extra: string[]) {
  return pipeline('--profile', 'smoke', '--workers', '2', '--out', out, '--cache', cache, ...extra);
}

let first: Record<string, string>;

const FIGURES = [
  'training-curves',
  'eigenvector-gallery',
  'eigenvalue-spectra',
  'regularization-comparison',
  'hosvd-spectrum',
  'hosvd-components',
  'input-explanations',
  'perturbation-check',
];

before(() => {
  const r = smoke();
  assert.equal(r.code, 0, r.stderr);
  first = digest(out);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('the smoke build writes a valid report: report.json, every figure, the weights', () => {
  const report = reportMetaSchema.parse(JSON.parse(readFileSync(join(out, 'mnist', 'report.json'), 'utf8')));
  assert.equal(report.profile, 'smoke');
  assert.deepEqual(report.figures, FIGURES);
  const accuracy = report.metrics['test-accuracy']!;
  assert.ok(accuracy.value > 0.3 && accuracy.value <= 1, `test accuracy ${accuracy.value}`);
  assert.match(accuracy.display, /^\d+\.\d\d%$/);
  for (const id of report.figures) {
    const meta = figureMetaSchema.parse(
      JSON.parse(readFileSync(join(out, 'mnist', 'figures', id, 'meta.json'), 'utf8')),
    );
    for (const file of meta.files) {
      const bytes = readFileSync(join(out, 'mnist', 'figures', id, file.name));
      assert.equal(bytes.length, file.bytes, `${id}/${file.name} size`);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, `${id}/${file.name} hash`);
    }
    assert.match(meta.provenance.command, new RegExp(`--only mnist/${id}$`));
    assert.equal(meta.provenance.dataHash, report.provenance.dataHash);
  }
  const weights = decodeSafetensors(
    readFileSync(join(out, 'mnist', 'models', 'model.safetensors')),
    'model.safetensors',
  );
  assert.deepEqual(weights.tensors['E']!.shape, [32, 784]);
  assert.deepEqual(weights.tensors['W']!.shape, [32, 32]);
  assert.deepEqual(weights.tensors['P']!.shape, [10, 32]);
  assert.equal(weights.metadata['report'], 'mnist');
});

test('every figure has a PNG, and names every model it was made from, each published with its weights', () => {
  for (const reportId of ['mnist', 'baselines']) {
    const report = reportMetaSchema.parse(
      JSON.parse(readFileSync(join(out, reportId, 'report.json'), 'utf8')),
    );
    for (const id of report.figures) {
      const meta = figureMetaSchema.parse(
        JSON.parse(readFileSync(join(out, reportId, 'figures', id, 'meta.json'), 'utf8')),
      );
      assert.ok(
        meta.files.some((f) => f.name === 'figure.png' && f.role === 'png'),
        `${reportId}/${id} has no figure.png`,
      );
      assert.ok(meta.models.length > 0, `${reportId}/${id} names no model`);
      for (const model of meta.models) {
        const published = report.models.find((m) => m.id === model.id);
        assert.ok(published, `${reportId}/${id}: model ${model.id} is not published`);
        assert.equal(published.file.sha256, model.sha256);
        assert.equal(
          createHash('sha256')
            .update(readFileSync(join(out, reportId, 'models', model.file)))
            .digest('hex'),
          model.sha256,
        );
      }
    }
  }
  const mnist = (id: string) =>
    figureMetaSchema.parse(JSON.parse(readFileSync(join(out, 'mnist', 'figures', id, 'meta.json'), 'utf8')));
  assert.deepEqual(
    mnist('eigenvector-gallery').models.map((m) => m.id),
    ['model'],
  );
  assert.deepEqual(
    mnist('regularization-comparison').models.map((m) => m.id),
    ['model', 'recipe', 'unregularized'],
  );
  // an aggregate figure of the sweep (2 data sets × 2 sizes × 3 seeds at the main length in smoke) names all
  // 12 runs
  const stability = figureMetaSchema.parse(
    JSON.parse(readFileSync(join(out, 'baselines', 'figures', 'stability-by-rank', 'meta.json'), 'utf8')),
  );
  assert.equal(stability.models.length, 12);
  assert.deepEqual(new Set(stability.models.map((m) => m.seed)), new Set([0, 1, 2]));
});

test('a second run builds nothing and writes the same bytes', () => {
  const r = smoke();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /0 job\(s\) built/);
  assert.doesNotMatch(r.stderr, /\[built\]/);
  assert.deepEqual(digest(out), first);
});

test('determinism: a second build into its own folder, from a fresh cache and one worker thread, gives byte-identical figures, data and weights', () => {
  const single = join(root, 'single-worker');
  const r = pipeline(
    '--profile',
    'smoke',
    '--workers',
    '1',
    '--out',
    single,
    '--cache',
    join(root, 'single-cache'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /\(worker; waited/);
  assert.doesNotMatch(r.stderr, /\[cached\]/, 'the fresh cache answered a job');
  const second = digest(single);
  // what is compared: every file of every report (figures, their PNGs and data, weights, metadata)
  const names = Object.keys(second);
  for (const file of ['figure.svg', 'figure.png', 'data.json', 'data.csv', 'figure.vl.json', 'meta.json']) {
    assert.ok(names.filter((n) => n.endsWith(`/${file}`)).length >= 10, `few ${file} files compared`);
  }
  assert.ok(names.some((n) => n.endsWith('.safetensors')));
  assert.deepEqual(second, first);
  // timings.json, left out above: the same jobs in the same order, only their seconds differ
  for (const report of readdirSync(out).filter((r) => existsSync(join(out, r, 'report.json')))) {
    const timings = (dir: string) =>
      timingsSchema.parse(JSON.parse(readFileSync(join(dir, report, 'timings.json'), 'utf8')));
    const [a, b] = [timings(out), timings(single)];
    assert.ok(a.jobs.length > 0, `${report}: no job timed`);
    assert.deepEqual(
      b.jobs.map(({ seconds: _, ...job }) => job),
      a.jobs.map(({ seconds: _, ...job }) => job),
      report,
    );
    assert.equal(a.machine.workers, 2);
    assert.equal(b.machine.workers, 1);
  }
});

test('a forced rebuild retrains and reproduces every file byte for byte', () => {
  const r = smoke('--force');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[built\]\s+train mnist\/model .*\(worker; waited [\d.]+ s for it\)/);
  assert.deepEqual(digest(out), first);
});

test('--only report/figure rebuilds that figure alone', () => {
  rmSync(join(out, 'mnist', 'figures', 'eigenvalue-spectra'), { recursive: true });
  const r = smoke('--only', 'mnist/eigenvalue-spectra');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /emitted\]\s+mnist\/eigenvalue-spectra/);
  assert.deepEqual(digest(out), first);
});

// One report: the portable path's own kernels are each tested against their native twins in the
// unit tests; this checks that a whole build runs without the addon (the finetune's stories15M on
// wasm would add minutes and check nothing more).
test('forcing the portable path (no native addon) builds the same report on wasm and ml-matrix', () => {
  const portable = join(root, 'portable');
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      '--profile',
      'smoke',
      '--only',
      'mnist',
      '--out',
      portable,
      '--cache',
      join(root, 'portable-cache'),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0', BILINEAR_NO_NATIVE: '1' },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const report = reportMetaSchema.parse(
    JSON.parse(readFileSync(join(portable, 'mnist', 'report.json'), 'utf8')),
  );
  assert.equal(report.provenance.backend, 'wasm');
  assert.deepEqual(report.figures, FIGURES);
  const forced = spawnSync(process.execPath, [CLI, '--profile', 'smoke', '--backend', 'native', '--status'], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', BILINEAR_NO_NATIVE: '1' },
  });
  assert.equal(forced.status, 2);
  assert.match(forced.stderr, /no training backend could start \(native: disabled by BILINEAR_NO_NATIVE=1\)/);
});

test('the smoke build includes Fashion-MNIST with its class names and one page per explained input', () => {
  const report = reportMetaSchema.parse(
    JSON.parse(readFileSync(join(out, 'fashion-mnist', 'report.json'), 'utf8')),
  );
  assert.deepEqual(report.figures, FIGURES);
  const explanations = figureMetaSchema.parse(
    JSON.parse(
      readFileSync(join(out, 'fashion-mnist', 'figures', 'input-explanations', 'meta.json'), 'utf8'),
    ),
  );
  assert.ok(explanations.pages.length >= 10, `${explanations.pages.length} explanation pages`);
  for (const page of explanations.pages)
    assert.ok(existsSync(join(out, 'fashion-mnist', 'figures', 'input-explanations', page.file)));
  assert.match(explanations.pages.map((p) => p.title).join(' '), /Ankle boot/);
});

test('a missing data set skips its report with the fix, and the other reports still build', () => {
  const missingOut = join(root, 'missing-out');
  const r = spawnSync(process.execPath, [CLI, '--profile', 'smoke', '--out', missingOut, '--cache', cache], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', FASHION_MNIST_DIR: join(root, 'empty') },
  });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /Fashion-MNIST not found; looked in .*empty \(\$FASHION_MNIST_DIR\)/);
  assert.match(r.stderr, /apt-get install dataset-fashion-mnist/);
  assert.match(r.stderr, /--download/);
  assert.ok(existsSync(join(missingOut, 'mnist', 'report.json')), 'the MNIST report was not built');
  assert.ok(!existsSync(join(missingOut, 'fashion-mnist')));
});

test('bad input: one line naming the valid choices, exit code 2, nothing written', () => {
  const fresh = join(root, 'never');
  const cases: [string[], RegExp][] = [
    [
      ['--only', 'nope'],
      /unknown report 'nope' in --only; valid: mnist, fashion-mnist, baselines, ablations/,
    ],
    [
      ['--only', 'mnist/nope'],
      new RegExp(`unknown figure 'nope' in report 'mnist'; valid: ${FIGURES.join(', ')}`),
    ],
    [['--profile', 'huge'], /unknown profile 'huge'; valid: smoke, default, paper/],
    [['--backend', 'gpu'], /unknown backend 'gpu'; valid: auto, tfjs-node, native, wasm, cpu/],
    [['--accel', 'gpu'], /unknown backend 'gpu'/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['--workers', '0'], /--workers must be a whole number from 1 to 64, got '0'/],
    [['--workers', '-3'], /Option '--workers' argument is ambiguous\. .* use '--workers=-XYZ'\./],
    [['--workers=-3'], /--workers must be a whole number from 1 to 64, got '-3'/],
    // names that every object has are not profiles
    [['--profile', 'toString'], /unknown profile 'toString'; valid: smoke, default, paper/],
    [['--profile', '__proto__'], /unknown profile '__proto__'/],
    [['--profile', 'constructor'], /unknown profile 'constructor'/],
  ];
  for (const [args, message] of cases) {
    const r = pipeline('--profile', 'smoke', '--out', fresh, '--cache', fresh, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('hint')).length,
      1,
      `${args.join(' ')} printed more than one line:\n${r.stderr}`,
    );
    assert.equal(existsSync(fresh), false, `${args.join(' ')} wrote ${fresh}`);
  }
});

test('--out and --cache that cannot take writes: one line naming the flag and the path, before any work', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a folder');
  const cases: [string[], RegExp][] = [
    [['--out', file], new RegExp(`--out ${file}: is a file, not a directory`)],
    [
      ['--cache', join(file, 'cache')],
      new RegExp(`--cache ${file}/cache: ${file} is a file, not a directory`),
    ],
    [
      ['--out', '/proc/no-such-folder/reports'],
      /--out \/proc\/no-such-folder\/reports: cannot be created \(/,
    ],
  ];
  if (process.getuid?.() !== 0) {
    const locked = join(root, 'read-only');
    mkdirSync(locked, { mode: 0o555 });
    cases.push([
      ['--cache', join(locked, 'cache')],
      /--cache .*read-only\/cache: cannot be created \(permission denied/,
    ]);
  }
  for (const [args, message] of cases) {
    const r = pipeline(
      '--profile',
      'smoke',
      '--out',
      join(root, 'unused-out'),
      '--cache',
      join(root, 'unused-cache'),
      ...args,
    );
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\[built\]| {4}at /, 'work was done, or a stack was printed');
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('hint')).length,
      1,
      r.stderr,
    );
  }
});

test('an interrupted build leaves no partial cache entry; the next run redoes only that job', async () => {
  const killCache = join(root, 'kill-cache');
  const killOut = join(root, 'kill-out');
  // The default profile trains for minutes: long enough to be interrupted mid-training.
  const child = spawn(
    process.execPath,
    [CLI, '--profile', 'default', '--out', killOut, '--cache', killCache],
    { env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/\[built\]\s+data mnist/.test(stderr)) child.kill('SIGINT');
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  assert.match(stderr, /\[built\]\s+data mnist/);
  assert.doesNotMatch(stderr, /\[built\]\s+train/);
  assert.equal(existsSync(join(killCache, 'train')), false, 'a train entry appeared');
  const status = pipeline('--profile', 'default', '--out', killOut, '--cache', killCache, '--status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stderr, /\[cached\]\s+data mnist/);
  assert.match(status.stderr, /\[missing\]\s+train mnist\/model/);
  assert.deepEqual(
    existsSync(killOut) ? readdirSync(killOut) : [],
    [],
    'an interrupted build wrote reports (or kept its lock)',
  );
});

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

test(
  "the documented Python example recomputes a figure's eigenvalues from the published weights",
  { skip: hasNumpy ? false : 'python3 with numpy is not installed' },
  () => {
    const script = new URL('../../examples/recompute_eigenvalues.py', import.meta.url).pathname;
    const model = join(out, 'mnist', 'models', 'model.safetensors');
    const spectra = JSON.parse(
      readFileSync(join(out, 'mnist', 'figures', 'eigenvalue-spectra', 'data.json'), 'utf8'),
    ) as {
      rows: { class: string; rank: number; eigenvalue: number }[];
    };
    for (const digit of [0, 7]) {
      const r = spawnSync('python3', [script, model, String(digit), '30'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const recomputed = JSON.parse(r.stdout) as number[];
      const published = spectra.rows
        .filter((row) => row.class === String(digit))
        .map((row) => row.eigenvalue);
      assert.equal(recomputed.length, published.length);
      // data.json keeps 7 significant digits
      recomputed.forEach((x, i) =>
        assert.ok(
          Math.abs(x - published[i]!) <= 1e-6 * Math.abs(published[i]!) + 1e-12,
          `digit ${digit}, rank ${i + 1}: ${x} vs ${published[i]}`,
        ),
      );
    }
  },
);

test(
  "the documented Python example recomputes both language models' held-out losses from the published weights and windows",
  { skip: hasNumpy ? false : 'python3 with numpy is not installed' },
  () => {
    const script = new URL('../../examples/recompute_language_loss.py', import.meta.url).pathname;
    const report = reportMetaSchema.parse(
      JSON.parse(readFileSync(join(out, 'language', 'report.json'), 'utf8')),
    );
    const windows = join(out, 'language', 'figures', 'held-out-windows', 'data.csv');
    for (const model of ['bilinear', 'swiglu']) {
      for (const split of ['validation', 'test']) {
        const r = spawnSync(
          'python3',
          [script, join(out, 'language', 'models', `${model}.safetensors`), windows, split],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        const { loss } = JSON.parse(r.stdout) as { loss: number };
        const published = report.metrics[`${model}-${split}-loss`]!.value;
        // float64 in NumPy against float32 here
        assert.ok(
          Math.abs(loss - published) <= 1e-5 * published,
          `${model} ${split}: ${loss} recomputed, ${published} published`,
        );
      }
    }
  },
);

test(
  "the finetune's bilinear model: the Python example recomputes its held-out loss, and its llama2.c checkpoint holds the same weights",
  { skip: hasNumpy ? false : 'python3 with numpy is not installed' },
  () => {
    const script = new URL('../../examples/recompute_language_loss.py', import.meta.url).pathname;
    const dir = join(out, 'finetune');
    const report = reportMetaSchema.parse(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')));
    const safetensors = join(dir, 'models', 'bilinear.safetensors');
    const r = spawnSync(
      'python3',
      [script, safetensors, join(dir, 'figures', 'held-out-windows', 'data.csv'), 'test'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const { loss } = JSON.parse(r.stdout) as { loss: number };
    const published = report.metrics['finetune-test-loss']!.value;
    // float64 in NumPy against float32 here, through six layers and a 32,000-token softmax
    assert.ok(Math.abs(loss - published) <= 1e-4 * published, `${loss} recomputed, ${published} published`);
    const model = report.models.find((m) => m.id === 'bilinear')!;
    assert.equal(model.checkpoint?.name, 'bilinear.bin');
    const bytes = readFileSync(join(dir, 'models', 'bilinear.bin'));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), model.checkpoint.sha256);
    const { shape, weights } = llamaFromCheckpoint(
      readLlamaCheckpoint(new Uint8Array(bytes), 'bilinear.bin'),
    );
    assert.equal(shape.mlp, 'bilinear');
    const tensors = decodeSafetensors(new Uint8Array(readFileSync(safetensors)), safetensors).tensors;
    for (const [name, values] of Object.entries(weights))
      assert.deepEqual(values, tensors[name]!.data, `${name}: the checkpoint and the safetensors agree`);
  },
);

test(
  "the documented Python example recomputes an output token's eigenvalues from the published weights and vocabulary",
  { skip: hasNumpy ? false : 'python3 with numpy is not installed' },
  () => {
    const script = new URL('../../examples/recompute_token_eigenvalues.py', import.meta.url).pathname;
    const spectra = JSON.parse(
      readFileSync(join(out, 'language', 'figures', 'output-spectra', 'data.json'), 'utf8'),
    ) as { directions: { slug: string; title: string; eigenvalues: number[] }[] };
    const words = spectra.directions.filter((d) => /^[a-z]+$/.test(d.title)).slice(0, 2);
    assert.ok(
      words.some((d) => d.slug === 'girl'),
      'the paper\'s "girl" is among the tokens read',
    );
    for (const { title, eigenvalues } of words) {
      const r = spawnSync(
        'python3',
        [
          script,
          join(out, 'language', 'models', 'bilinear.safetensors'),
          join(out, 'language', 'figures', 'vocabulary', 'data.csv'),
          title,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const recomputed = JSON.parse(r.stdout) as number[];
      assert.equal(recomputed.length, eigenvalues.length);
      // data.json keeps 7 significant digits; the largest sets the scale of rounding in the solver
      const scale = Math.abs(eigenvalues[0]!);
      recomputed.forEach((x, i) =>
        assert.ok(
          Math.abs(x - eigenvalues[i]!) <= 1e-6 * Math.abs(eigenvalues[i]!) + 1e-9 * scale,
          `${title}, eigenvalue ${i + 1}: ${x} recomputed, ${eigenvalues[i]} published`,
        ),
      );
    }
  },
);
