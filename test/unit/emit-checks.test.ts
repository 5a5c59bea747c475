/**
 * The emitter's last check (emit/verify.ts): weights with no tensors, a missing one or a
 * non-finite value, and figure files that are missing, empty or do not parse are refused with
 * one line naming what would have been published; whole, finite ones pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Artifact } from '../../pipeline/cache/artifact.ts';
import { PipelineError } from '../../pipeline/errors.ts';
import { checkPublishableFigure, checkPublishableWeights } from '../../pipeline/emit/verify.ts';
import { displayInterval, intervalWords, seedsIn } from '../../pipeline/emit/report.ts';
import { metricSchema } from '../../pipeline/emit/schema.ts';
import { withInterval } from '../../pipeline/reports/spec.ts';
import { tableFigure } from '../../pipeline/figures/table.ts';
import '../../pipeline/models/bilinear-classifier.ts';
import { tensor, type NamedTensor } from '../../pipeline/tensors/safetensors.ts';
import type { ModelMeta } from '../../pipeline/train/job.ts';

const shape = { input: 3, embed: null, hidden: 2, classes: 2 };

function model(tensors: Record<string, NamedTensor>): Artifact<ModelMeta> {
  return {
    kind: 'train/model',
    meta: {
      model: { kind: 'bilinear-classifier', shape, description: 'a 3 → 2 → 2 fixture' },
    } as unknown as ModelMeta,
    tensors,
    files: {},
  };
}

const whole = () => ({
  W: tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
  V: tensor(Float32Array.from([1, 0, 0, 0, 1, 0]), [2, 3]),
  P: tensor(Float32Array.from([1, -1, 0.5, 2]), [2, 2]),
});

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof PipelineError &&
  /^refusing to publish m\/models\/x\.safetensors: /.test(error.message) &&
  pattern.test(error.message);

test('weights: whole and finite pass; empty, incomplete or non-finite ones are refused', () => {
  checkPublishableWeights(model(whole()), 'm/models/x.safetensors');
  assert.throws(
    () => checkPublishableWeights(model({}), 'm/models/x.safetensors'),
    refused(/it has no tensors/),
  );
  const { P: _p, ...noP } = whole();
  assert.throws(
    () => checkPublishableWeights(model(noP), 'm/models/x.safetensors'),
    refused(/needs tensor 'P'/),
  );
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const w = whole();
    w.V.data[4] = bad;
    assert.throws(
      () => checkPublishableWeights(model(w), 'm/models/x.safetensors'),
      refused(new RegExp(`tensor 'V' holds ${bad} at index 4`)),
    );
  }
});

const PNG = Uint8Array.from([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  ...new Array<number>(40).fill(0),
]);
const files = (): Record<string, Uint8Array> => ({
  'figure.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>\n'),
  'figure.png': PNG,
  'data.json': Buffer.from('{"rows": [1, 2]}\n'),
  'data.csv': Buffer.from('a,b\n1,2\n'),
  'figure.vl.json': Buffer.from('{"mark": "bar"}\n'),
});

test('figure files: complete ones pass; missing, empty or unparsable ones are refused, naming the file', () => {
  checkPublishableFigure(files(), 'm/figures/f');
  const cases: [string, (f: Record<string, Uint8Array>) => void, RegExp][] = [
    ['no SVG', (f) => delete f['figure.svg'], /figure\.svg is missing/],
    ['a 0-byte PNG', (f) => (f['figure.png'] = new Uint8Array()), /figure\.png is empty/],
    [
      'a PNG that is not one',
      (f) => (f['figure.png'] = Buffer.from('GIF89a'.padEnd(48, ' '))),
      /figure\.png is not a PNG image/,
    ],
    ['no data.json', (f) => delete f['data.json'], /data\.json is missing/],
    [
      'a half data.json',
      (f) => (f['data.json'] = Buffer.from('{"rows": [1,')),
      /data\.json is not valid JSON/,
    ],
    [
      'an unparsable Vega-Lite spec',
      (f) => (f['figure.vl.json'] = Buffer.from('{"mark"')),
      /figure\.vl\.json is not valid JSON/,
    ],
    [
      'a cut-off SVG',
      (f) => (f['figure.svg'] = Buffer.from('<svg width="10" height="10"><rect/>')),
      /figure\.svg is not a whole SVG document/,
    ],
    [
      'a cut-off page SVG',
      (f) => (f['test-00001.svg'] = Buffer.from('<svg><g>')),
      /test-00001\.svg is not a whole SVG document/,
    ],
  ];
  for (const [what, damage, message] of cases) {
    const f = files();
    damage(f);
    assert.throws(
      () => checkPublishableFigure(f, 'm/figures/f'),
      (error: unknown) =>
        error instanceof PipelineError &&
        /^refusing to publish m\/figures\/f: /.test(error.message) &&
        message.test(error.message),
      what,
    );
  }
});

test("a provenance names every seed in the data jobs' settings, by its path", () => {
  assert.deepEqual(
    seedsIn(
      { source: { kind: 'sampled', sampling: { seed: 2024, topP: 0.9 } }, split: { heldOut: 0.1, seed: 7 } },
      '',
    ),
    [
      ['source.sampling.seed', 2024],
      ['split.seed', 7],
    ],
  );
  assert.deepEqual(seedsIn({ runs: [{ seed: 1 }, { seed: 2 }], seed: 'not a number' }, ''), [
    ['runs.0.seed', 1],
    ['runs.1.seed', 2],
  ]);
  assert.deepEqual(seedsIn(null, ''), []);
});

test('a table figure carries the same cells as HTML and as its SVG drawing', () => {
  const out = tableFigure({
    title: 'T',
    columns: ['a', 'b'],
    rows: [
      ['x & y', '1'],
      ['z', '2'],
    ],
    widths: [50, 50],
    groupEvery: 1,
  });
  assert.equal(out.kind, 'table');
  assert.deepEqual(out.html, {
    table: {
      columns: ['a', 'b'],
      rows: [
        ['x & y', '1'],
        ['z', '2'],
      ],
      groupEvery: 1,
    },
  });
  for (const text of ['x &amp; y', '>z<', '>2<']) assert.ok(out.svg.includes(text), text);
});

test('a metric carries its interval with method and n, cut at the range the measure can take', () => {
  const share = withInterval(
    { label: 'share', value: 0.84, format: 'percent', digits: 0 },
    { mean: 0.84, lo: 0.6776, hi: 1.0024, n: 10, method: 'nested' },
    'target classes',
  );
  assert.deepEqual(share.interval, {
    lo: 0.6776,
    hi: 1,
    n: 10,
    method: 'nested',
    unit: 'target classes',
    clipped: true,
  });
  assert.equal(
    displayInterval(share),
    '95% interval 68% to 100%, t interval of per-unit means of the draws cut at the possible range, n = 10 target classes',
  );
  // Apart, for a paragraph that states the method once: the cut belongs to this number's bounds.
  const words = intervalWords(share);
  assert.equal(words.range, '68% to 100%');
  assert.equal(words.how, 't interval of per-unit means of the draws, n = 10 target classes');
  const loss = withInterval(
    { label: 'cost', value: -0.0101, format: 'number', digits: 4 },
    { mean: -0.0101, lo: -0.2, hi: 0.18, n: 3, method: 't' },
    'seeds',
  );
  assert.equal(displayInterval(loss), '95% interval -0.2000 to 0.1800, t interval, n = 3 seeds');
  // The published data refuse an interval over fewer than 3 units, wherever it came from.
  const published = {
    ...loss,
    display: '-0.0101',
    interval: { ...loss.interval!, n: 2, display: '', range: '', how: '' },
  };
  assert.match(JSON.stringify(metricSchema.safeParse(published).error?.issues), /at least 3 units/);
  assert.equal(
    metricSchema.safeParse({ ...published, interval: { ...published.interval, n: 3 } }).success,
    true,
  );
  // too few units for an interval, or a censored value printed as text: the value stands alone
  assert.equal(
    withInterval(
      { label: 'x', value: 1, format: 'number', digits: 0 },
      { mean: 1, lo: null, hi: null, n: 1, method: 't' },
      'seeds',
    ).interval,
    undefined,
  );
  assert.equal(
    withInterval(
      { label: 'x', value: 50, format: 'number', digits: 0, text: 'at least 50' },
      { mean: 50, lo: 40, hi: 60, n: 3, method: 't' },
      'seeds',
    ).interval,
    undefined,
  );
  // a value outside its own interval is a bug upstream, never printed
  assert.throws(
    () =>
      displayInterval({
        label: 'bad',
        value: 2,
        format: 'number',
        digits: 0,
        interval: { lo: 0, hi: 1, n: 3, method: 't', unit: 'seeds' },
      }),
    /outside its interval/,
  );
});
