/**
 * Report specs are checked before anything runs: a malformed or repeated figure id stops the
 * build with the spec's file and the id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from '../../pipeline/cache/job.ts';
import type { FigureMeta } from '../../pipeline/figures/job.ts';
import { validatePlan, type ReportPlan, type ReportSpec } from '../../pipeline/reports/spec.ts';
import type { ModelMeta } from '../../pipeline/train/job.ts';

const job: Job<ModelMeta & FigureMeta> = {
  kind: 'figure/render',
  stage: 'figure',
  label: 'x',
  params: null,
  deps: {},
  modules: [],
  heavy: false,
};

function spec(figureIds: string[], id = 'toy'): [ReportSpec, ReportPlan] {
  const plan: ReportPlan = {
    settings: {},
    models: [{ id: 'model', description: 'a model', job }],
    figures: figureIds.map((f) => ({ id: f, title: 'T', caption: 'C', job })),
    metrics: () => ({}),
  };
  return [{ id, title: 'Toy', summary: 'A toy report.', plan: () => plan }, plan];
}

test('a valid plan passes', () => {
  validatePlan(...spec(['first-figure', 'second-figure']));
});

test('a figure id used twice names the spec file and the id', () => {
  assert.throws(
    () => validatePlan(...spec(['curves', 'curves'])),
    /report 'toy' \(pipeline\/reports\/toy\.ts\): figure id 'curves' is used twice/,
  );
});

test('a malformed figure id names the spec file, the field and the rule', () => {
  for (const bad of ['Curves', 'two words', 'trailing-', 'a--b', '']) {
    assert.throws(
      () => validatePlan(...spec(['ok', bad])),
      /pipeline\/reports\/toy\.ts\): figures\.1\.id: figure id must be kebab-case/,
      `'${bad}' was accepted`,
    );
  }
});

test('a malformed report id is refused', () => {
  assert.throws(() => validatePlan(...spec(['ok'], 'My_Report')), /report id must be kebab-case/);
});
