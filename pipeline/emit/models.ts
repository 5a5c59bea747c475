/**
 * Which trained models a figure was made from, and which models a report publishes. A figure's
 * provenance names every model upstream of it (an aggregate figure over a sweep names all of
 * them, not only the first), and each of those models is published as weights beside the report,
 * so any figure can be checked against the exact weights it came from.
 */
import type { Artifact } from '../cache/artifact.ts';
import { walkJobs, type Job } from '../cache/job.ts';
import type { JobRunner } from '../cache/runner.ts';
import type { ReportPlan } from '../reports/spec.ts';
import { trainModel, type ModelMeta } from '../train/job.ts';

/** A model the report publishes: its id (the weights file is `<id>.safetensors`) and its job. */
export interface PublishedModel {
  id: string;
  description: string;
  job: Job<ModelMeta>;
  /** Also published as its kind's checkpoint file (ModelPlan.checkpoint). */
  checkpoint?: boolean;
}

/** Every training job upstream of `job` (itself included), each once, in a stable order. */
export function trainJobsOf(job: Job, runner: JobRunner): Job<ModelMeta>[] {
  const found = new Map<string, Job<ModelMeta>>();
  for (const j of walkJobs([job]))
    if (j.kind === trainModel.name) found.set(runner.key(j), j as Job<ModelMeta>);
  return [...found.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/**
 * The plan's declared models, then every other model a figure depends on (e.g. the runs of a
 * sweep), named after the last part of its job label (`baselines/mnist-30-0` → `mnist-30-0`).
 */
export function publishedModels(reportId: string, plan: ReportPlan, runner: JobRunner): PublishedModel[] {
  const models: PublishedModel[] = plan.models.map((m) => ({
    id: m.id,
    description: m.description,
    job: m.job,
    ...(m.checkpoint ? { checkpoint: true } : {}),
  }));
  const byKey = new Map(models.map((m) => [runner.key(m.job), m]));
  for (const figure of plan.figures) {
    for (const job of trainJobsOf(figure.job, runner)) {
      const key = runner.key(job);
      if (byKey.has(key)) continue;
      const id = job.label.split('/').pop()!;
      if (models.some((m) => m.id === id)) {
        throw new Error(
          `report '${reportId}' (pipeline/reports/${reportId}.ts): two different ` +
            `models would both be published as '${id}'; give their training jobs distinct labels`,
        );
      }
      const model: PublishedModel = { id, description: '', job };
      models.push(model);
      byKey.set(key, model);
    }
  }
  return models;
}

/** A description for a model that the plan did not describe, from its own metadata. */
export function describeModel(model: Artifact<ModelMeta>): string {
  const m = model.meta;
  const test = Object.entries(m.final.test)
    .filter(([name]) => name !== 'loss')
    .map(([name, v]) => `test ${name} ${(v * 100).toFixed(2)}%`);
  return [`${m.provenance.dataName}, ${m.model.description}, seed ${m.settings.seed}`, ...test].join(': ');
}

/** The models a figure was made from, by the ids under which the report publishes them. */
export function figureModelIds(figureJob: Job, models: PublishedModel[], runner: JobRunner): string[] {
  const idByKey = new Map(models.map((m) => [runner.key(m.job), m.id]));
  return trainJobsOf(figureJob, runner)
    .map((job) => idByKey.get(runner.key(job))!)
    .filter((id) => id !== undefined);
}
