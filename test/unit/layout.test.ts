/**
 * The pipeline's floors (README "Layout"): a module imports only from its own folder and the ones
 * below it, and no stage outside models/ and tasks/ names a kind of model or a task, so a new kind
 * is a new file there and nothing else changes; no analysis names a kind or a tensor of one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import type { Json } from '../../pipeline/cache/artifact.ts';
import { bilinearBigram } from '../../pipeline/models/bilinear-bigram.ts';
import { bilinearClassifier } from '../../pipeline/models/bilinear-classifier.ts';
import type { ModelKind } from '../../pipeline/models/kind.ts';
import { llama } from '../../pipeline/models/llama.ts';

const PIPELINE = new URL('../../pipeline/', import.meta.url).pathname;
/** Lowest first. A module may import from its own floor and from any floor before it. */
const FLOORS = [
  'util',
  'errors.ts',
  'profiles.ts',
  'tensors',
  'cache',
  'data',
  'native',
  'models',
  'corpus',
  'tasks',
  'train',
  'decompose',
  'analysis',
  'figures',
  'emit',
  'reports',
  'build.ts',
  'cli.ts',
];
/** Type-only imports that go up, and why they may. */
const ALLOWED_UP = new Set(['emit/models.ts -> reports/spec.ts', 'emit/report.ts -> reports/spec.ts']); // the emitter writes what a spec declares

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s*['"](\.[^'"]+)['"]/gm)].map(
    (m) => ({
      target: relative(PIPELINE, resolve(dirname(file), m[2]!)),
      typeOnly: m[1] !== undefined,
    }),
  );
}

const floorOf = (path: string) => FLOORS.indexOf(path.split('/')[0]!);

test('no import goes up a floor (type-only exceptions are listed with their reason)', () => {
  const up: string[] = [];
  for (const file of sources(PIPELINE)) {
    const from = relative(PIPELINE, file);
    assert.ok(floorOf(from) >= 0, `${from} is on no floor; add its folder to FLOORS and the README's layout`);
    for (const { target, typeOnly } of imports(file)) {
      if (floorOf(target) <= floorOf(from)) continue;
      const edge = `${from} -> ${target}`;
      if (!(typeOnly && ALLOWED_UP.has(edge))) up.push(`${edge}${typeOnly ? ' (type only)' : ''}`);
    }
  }
  assert.deepEqual(up, []);
});

test('no stage outside models/, tasks/ and the report specs names a kind of model or a task', () => {
  const named: string[] = [];
  for (const file of sources(PIPELINE)) {
    const from = relative(PIPELINE, file);
    // corpus/ samples stories from the pretrained language model, which it names, and
    // train/pretrained.ts imports that model's llama2.c checkpoint, a format of one kind.
    if (/^(models|tasks|reports|corpus)\//.test(from) || from === 'train/pretrained.ts') continue;
    for (const { target } of imports(file)) {
      if (/^models\/(?!kind\.ts)/.test(target) || /^tasks\/(?!kind\.ts)/.test(target))
        named.push(`${from} -> ${target}`);
    }
  }
  assert.deepEqual(named, []);
});

const LLAMA_SHAPE = {
  vocab: 5,
  dim: 4,
  hidden: 6,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  context: 4,
  tiedEmbeddings: false,
  mlp: 'bilinear',
  beta: 1,
  normEps: 1e-5,
  ropeTheta: 10000,
};

/** Every kind with a shape that has all of its tensors (norms, an untied unembedding, an embedding). */
const KIND_SHAPES: [ModelKind, Json][] = [
  [llama, { ...LLAMA_SHAPE }],
  [bilinearClassifier, { input: 4, embed: 3, hidden: 5, classes: 2 }],
  [bilinearBigram, { vocab: 4, d: 3, hidden: 5 }],
];

/** The contents of a source's string and template literals, digits and `${…}` as N. */
function literals(text: string): string[] {
  return [...text.matchAll(/'([^'\n]*)'|"([^"\n]*)"|`([^`]*)`/g)].map((m) =>
    (m[1] ?? m[2] ?? m[3]!).replace(/\$\{[^}]*\}/g, 'N').replace(/\d+/g, 'N'),
  );
}

test('no analysis names a model kind or one of its tensors: they read models through the kind', () => {
  const kinds = new Set(KIND_SHAPES.map(([kind]) => kind.name));
  const tensors = new Set(
    KIND_SHAPES.flatMap(([kind, shape]) =>
      Object.keys(kind.layout(shape)).map((t) => t.replace(/\d+/g, 'N')),
    ),
  );
  assert.ok(tensors.has('layers.N.wv') && tensors.has('embed'), 'the kinds list their tensors');
  const named: string[] = [];
  for (const file of sources(join(PIPELINE, 'analysis'))) {
    for (const literal of literals(readFileSync(file, 'utf8'))) {
      // a layer's tensor also counts inside a longer text ("layers.N.wv" in a message)
      const inside = [...tensors].some((t) => t.includes('.') && literal.includes(t));
      const hit = kinds.has(literal) || tensors.has(literal) || inside;
      if (hit) named.push(`${relative(PIPELINE, file)}: '${literal}'`);
    }
  }
  assert.deepEqual(named, []);
});
