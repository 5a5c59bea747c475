/**
 * Bring your own checkpoint: `--llama-checkpoint FILE` makes the finetune report finetune that
 * model (here a small random one, with the packaged tokenizer and a --tinystories corpus), name
 * it in its tables and publish its bilinear form in its own sizes; a checkpoint whose MLPs are
 * bilinear already is refused before anything runs, naming the flag.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { build } from '../../pipeline/build.ts';
import {
  readLlamaCheckpoint,
  writeLlamaCheckpoint,
  type LlamaConfig,
} from '../../pipeline/data/llama-checkpoint.ts';
import { locateLlamaFiles } from '../../pipeline/data/llama-files.ts';
import { STORY_SEPARATOR } from '../../pipeline/data/stories.ts';
import { reportMetaSchema } from '../../pipeline/emit/schema.ts';
import { llama, llamaFromCheckpoint, llamaShapeOf, llamaToCheckpoint } from '../../pipeline/models/llama.ts';
import { finetuneReport } from '../../pipeline/reports/finetune.ts';
import { memoryLog } from '../../pipeline/util/log.ts';
import { randomLlamaWeights } from '../helpers/random-llama.ts';

const located = locateLlamaFiles();
const NEEDS_TOKENIZER = 'missing' in located ? { skip: `no llama tokenizer: ${located.missing}` } : {};

const dir = mkdtempSync(join(tmpdir(), 'finetune-checkpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: LlamaConfig = {
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  vocab: 32000,
  context: 64,
  tiedEmbeddings: false,
  mlp: 'gated',
};

/** A random checkpoint of CONFIG written to `name`, gated or bilinear. */
function checkpointFile(name: string, mlp: LlamaConfig['mlp']): string {
  const shape = { ...llamaShapeOf(CONFIG), mlp };
  const path = join(dir, name);
  writeFileSync(path, writeLlamaCheckpoint(llamaToCheckpoint(shape, randomLlamaWeights(shape, 5))));
  return path;
}

const NAMES = ['Tim', 'Lily', 'Sam', 'Mia'];
function storiesFile(): string {
  const stories = Array.from(
    { length: 40 },
    (_, i) =>
      `Once upon a time, a girl named ${NAMES[i % 4]} saw a big dog. She was happy and ran to play. ` +
      `The dog liked to jump in the park, and ${NAMES[(i + 1) % 4]} went home.`,
  );
  const path = join(dir, 'stories.txt');
  writeFileSync(path, stories.map((s) => `${s}\n${STORY_SEPARATOR}\n`).join(''));
  return path;
}

const options = (checkpoint: string, out: string) => ({
  profile: 'smoke' as const,
  force: false,
  backend: 'auto' as const,
  workers: 1,
  outDir: join(out, 'reports'),
  cacheDir: join(out, 'cache'),
  log: memoryLog(),
  dataDirs: { 'llama-checkpoint': checkpoint, tinystories: storiesFile() },
  reports: [finetuneReport],
  only: 'finetune',
});

test(
  '--llama-checkpoint: the report finetunes the given checkpoint and publishes its bilinear form',
  NEEDS_TOKENIZER,
  async () => {
    const out = mkdtempSync(join(dir, 'build-'));
    const summary = await build(options(checkpointFile('tiny.bin', 'gated'), out));
    assert.deepEqual(summary.emitted, ['finetune']);
    const reports = join(out, 'reports', 'finetune');
    const report = reportMetaSchema.parse(JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8')));
    assert.equal(report.metrics['checkpoint']!.display, 'tiny');
    assert.equal(report.metrics['model-dim']!.value, CONFIG.dim);
    assert.match(String(report.settings['checkpoint']), /^tiny\.bin/);
    const bilinear = report.models.find((m) => m.id === 'bilinear')!;
    assert.match(bilinear.description, /^tiny finetuned into a bilinear model/);
    const published = readLlamaCheckpoint(
      new Uint8Array(readFileSync(join(reports, 'models', 'bilinear.bin'))),
      'bin',
    );
    assert.deepEqual(published.config, { ...CONFIG, mlp: 'bilinear' });
    // the readings read its last layer
    const tokens = JSON.parse(
      readFileSync(join(reports, 'figures', 'output-tokens', 'meta.json'), 'utf8'),
    ) as {
      caption: string;
    };
    assert.match(tokens.caption, /layer 1 \(of 2\)/);
    assert.equal(llama.describe(llamaFromCheckpoint(published).shape).includes('bilinear MLP'), true);
  },
);

test(
  'a checkpoint whose MLPs are bilinear already is refused, naming the flag, and nothing is published',
  NEEDS_TOKENIZER,
  async () => {
    const out = mkdtempSync(join(dir, 'refused-'));
    const log = memoryLog();
    await assert.rejects(
      build({ ...options(checkpointFile('done.bin', 'bilinear'), out), log }),
      /the checkpoint done\.bin .*has bilinear MLPs already/,
    );
    assert.throws(() => readFileSync(join(out, 'reports', 'finetune', 'report.json')), /ENOENT/);
  },
);
