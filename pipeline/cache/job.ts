/**
 * Jobs as data. A job kind is defined once, in the module that holds its code, with a name, the
 * stage it belongs to (its folder in the cache) and a run function; a job is a plain description:
 * the kind's name, the parameters it runs with, the jobs whose artifacts it reads and the modules
 * whose code decides its result. Because a job is data, its key is a hash of exactly what it runs
 * with (no second copy of the parameters hidden in a closure), and a worker thread can be sent the
 * description itself: it imports the modules, which define the kind, and runs it.
 *
 *   const trainKind = defineJob<ModelMeta, { data: DataMeta }, TrainParams>({
 *     name, stage, module: import.meta.url, run,
 *   });
 *   const job = trainKind.create('mnist/model', { data }, params);   // Job<ModelMeta>
 */
import { canonicalJson } from '../util/hash.ts';
import type { Log } from '../util/log.ts';
import type { Artifact, Json } from './artifact.ts';

export interface JobContext {
  log: Log;
  /** The job's own key (its config hash), for provenance. */
  key: string;
  /** The job's locations (see Job.locations), or null. */
  locations: Json;
  /** The keys of its inputs, by dependency name (for provenance). */
  deps: Record<string, string>;
}

/** A job's inputs: for each dependency name, the artifact of that job with its metadata type. */
export type Inputs<D> = { [K in keyof D]: Artifact<Exclude<D[K], undefined>> };
/** A job's dependencies: for each name, a job whose artifact has that metadata type. */
export type Deps<D> = { [K in keyof D]: Job<Exclude<D[K], undefined>> };

export interface Job<M = unknown> {
  /** The job kind's name (see defineJob), e.g. `train/model`. */
  kind: string;
  /** The cache folder it is stored in; also what the status lines say. */
  stage: string;
  /** A readable name for status lines, e.g. `mnist/model`. */
  label: string;
  /** Everything besides its inputs that determines the result. JSON only. */
  params: Json;
  /**
   * Where the job finds what its params identify by content (e.g. the paths of files whose
   * SHA-256 is in params): passed to run() but not hashed, so moving a file rebuilds nothing.
   */
  locations?: Json;
  /** Upstream jobs by the name under which run() receives their artifacts. */
  deps: Record<string, Job>;
  /**
   * URLs of the modules whose code decides the result: the kind's own, and any plug-in it runs
   * (a model kind, a task, a figure renderer). Their source, and everything they import, is
   * hashed into the key (code-version.ts).
   */
  modules: string[];
  /** Run in a worker thread when the build has a pool: long, CPU-bound, independent work. */
  heavy: boolean;
  /** Type only: the metadata type of this job's artifact. Never set. */
  readonly metaType?: M;
}

export interface JobKindSpec<M, D, P> {
  /** Unique across the pipeline: `<stage>/<what>`. */
  name: string;
  stage: string;
  /** `import.meta.url` of the defining module. */
  module: string;
  heavy?: boolean;
  run(ctx: JobContext, inputs: Inputs<D>, params: P): Promise<Artifact<M>>;
}

export interface JobKind<M, D, P> extends JobKindSpec<M, D, P> {
  /** A job of this kind; `modules` adds plug-ins whose code the result depends on. */
  create(label: string, deps: Deps<D>, params: P, options?: { modules?: string[]; locations?: Json }): Job<M>;
  /** Type only: the metadata type of this kind's artifacts. Never set. */
  readonly metaType?: M;
}

// Any kind, for the registry: its inputs and parameters are only known to its own module.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKind = JobKind<unknown, any, any>;
const KINDS = new Map<string, AnyKind>();

export function defineJob<M, D, P>(spec: JobKindSpec<M, D, P>): JobKind<M, D, P> {
  const known = KINDS.get(spec.name);
  if (known && known.module !== spec.module) {
    throw new Error(`job kind '${spec.name}' is defined twice: in ${known.module} and in ${spec.module}`);
  }
  const kind: JobKind<M, D, P> = {
    ...spec,
    create: (label, deps, params, options = {}) => ({
      kind: spec.name,
      stage: spec.stage,
      label,
      params: plainParams(params, `${spec.name} ${label}`),
      ...(options.locations === undefined ? {} : { locations: options.locations }),
      deps: Object.fromEntries(
        Object.entries(deps as Record<string, Job | undefined>).filter(([, job]) => job !== undefined),
      ) as Record<string, Job>,
      modules: [...new Set([spec.module, ...(options.modules ?? [])])].sort(),
      heavy: spec.heavy ?? false,
    }),
  };
  KINDS.set(spec.name, kind as AnyKind);
  return kind;
}

/** Parameters are hashed and sent to workers: plain JSON only, checked when the job is made. */
function plainParams(params: unknown, where: string): Json {
  try {
    canonicalJson(params);
  } catch (error) {
    throw new Error(
      `${where}: parameters must be plain JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return params as Json;
}

/** The kind a job names; it is defined once one of the job's modules has been imported. */
export function jobKind(name: string): AnyKind {
  const kind = KINDS.get(name);
  if (!kind)
    throw new Error(
      `no job kind '${name}' is defined; import the module that defines it ` +
        `(known: ${[...KINDS.keys()].sort().join(', ')})`,
    );
  return kind;
}

/**
 * The artifact as the kind's metadata type, after checking that this kind made it: a typed read
 * of an input whose job is only known by name (a sweep figure reads dozens of runs).
 */
export function artifactOf<M>(
  a: Artifact | undefined,
  kind: { name: string; readonly metaType?: M },
  what: string,
): Artifact<M> {
  if (!a) throw new Error(`${what}: input is missing`);
  if (a.kind !== kind.name)
    throw new Error(`${what}: expected an artifact of '${kind.name}', got one of '${a.kind ?? 'unknown'}'`);
  return a as Artifact<M>;
}

/** Every job reachable from `roots` (each once, by identity), upstream first. */
export function walkJobs(roots: Job[]): Job[] {
  const seen = new Set<Job>();
  const out: Job[] = [];
  const visit = (job: Job) => {
    if (seen.has(job)) return;
    seen.add(job);
    Object.values(job.deps).forEach(visit);
    out.push(job);
  };
  roots.forEach(visit);
  return out;
}
