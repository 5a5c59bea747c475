/**
 * llama2.c's `model.bin` (the legacy format its exporter writes by default, and run.c reads): a
 * header of seven int32s, then every weight as float32, in a fixed order, with no padding:
 *
 *   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   token_embedding (vocab, dim)
 *   rms_att (layers, dim)   wq (layers, heads·hs, dim)   wk, wv (layers, kv_heads·hs, dim)
 *   wo (layers, dim, heads·hs)
 *   rms_ffn (layers, dim)   w1 (layers, hidden, dim)   w2 (layers, dim, hidden)   w3 (layers, hidden, dim)
 *   rms_final (dim)   two RoPE tables (seq_len, hs/2) each, unused (run.c skips them too)
 *   wcls (vocab, dim)       only when vocab_size is negative (an unshared classifier)
 *
 * hs = dim / n_heads is the head size. Matrices are (out, in), row-major: math layout already.
 * A file is read only when its size is exactly what the header says, and every value is finite.
 *
 * One extension, in llama2.c's own manner (a negative vocab_size marks an unshared classifier): a
 * negative hidden_dim marks a bilinear MLP, w2((w1 h) ⊙ (w3 h)) with no gate, as this project
 * publishes a finetuned model. run.c stops at such a file (malloc failed) rather than run it as SwiGLU.
 */
import { PipelineError } from '../errors.ts';

export interface LlamaConfig {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads: fewer than `heads` is grouped-query attention. */
  kvHeads: number;
  vocab: number;
  /** The longest context the model was trained with. */
  context: number;
  /** Whether the classifier is the token embedding (vocab_size > 0 in the header). */
  tiedEmbeddings: boolean;
  /** The MLP: SwiGLU as llama2.c trains it, or bilinear (hidden_dim < 0 in the header). */
  mlp: 'gated' | 'bilinear';
}

/** The file's arrays, as stored (per-layer arrays stacked, layer first). */
export interface LlamaCheckpoint {
  config: LlamaConfig;
  arrays: {
    tokenEmbedding: Float32Array;
    rmsAtt: Float32Array;
    wq: Float32Array;
    wk: Float32Array;
    wv: Float32Array;
    wo: Float32Array;
    rmsFfn: Float32Array;
    w1: Float32Array;
    w2: Float32Array;
    w3: Float32Array;
    rmsFinal: Float32Array;
    /** The classifier; the token embedding itself when tied. */
    wcls: Float32Array;
  };
}

const HEADER_BYTES = 7 * 4;
/** The magic number of llama2.c's newer export versions (1 and 2), which run.c does not read. */
const VERSIONED_MAGIC = 0x616b3432;

function badCheckpoint(where: string, what: string): PipelineError {
  return new PipelineError(`${where}: not a llama2.c checkpoint: ${what}`, {
    exitCode: 2,
    hint:
      "pass a model.bin written by llama2.c's export.py in its legacy format " +
      '(--version 0), or leave out --llama-checkpoint to use the packaged stories15M',
  });
}

/** The header checked: whole positive sizes that fit together. */
export function readLlamaConfig(bytes: Uint8Array, where: string): LlamaConfig {
  if (bytes.length < HEADER_BYTES)
    throw badCheckpoint(where, `${bytes.length} bytes is shorter than its 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) === VERSIONED_MAGIC)
    throw badCheckpoint(
      where,
      'it is a versioned llama2.c export (magic "ak42"); only the legacy format is read',
    );
  const [dim, signedHidden, layers, heads, kvHeads, signedVocab, context] = Array.from(
    { length: 7 },
    (_, i) => view.getInt32(i * 4, true),
  ) as [number, number, number, number, number, number, number];
  const vocab = Math.abs(signedVocab);
  const hidden = Math.abs(signedHidden);
  const fields = {
    dim,
    hidden_dim: hidden,
    n_layers: layers,
    n_heads: heads,
    n_kv_heads: kvHeads,
    vocab_size: vocab,
    seq_len: context,
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value < 1 || value > 1 << 24) throw badCheckpoint(where, `header field ${name} is ${value}`);
  }
  if (dim % heads !== 0) throw badCheckpoint(where, `dim ${dim} is not a multiple of n_heads ${heads}`);
  if (heads % kvHeads !== 0)
    throw badCheckpoint(where, `n_heads ${heads} is not a multiple of n_kv_heads ${kvHeads}`);
  if ((dim / heads) % 2 !== 0)
    throw badCheckpoint(where, `the head size ${dim / heads} is odd (rotary embeddings rotate pairs)`);
  return {
    dim,
    hidden,
    layers,
    heads,
    kvHeads,
    vocab,
    context,
    tiedEmbeddings: signedVocab > 0,
    mlp: signedHidden < 0 ? 'bilinear' : 'gated',
  };
}

/** Float32 counts of every array, in file order (the RoPE tables included, as `ropeTables`). */
function arraySizes(c: LlamaConfig): [keyof LlamaCheckpoint['arrays'] | 'ropeTables', number][] {
  const hs = c.dim / c.heads;
  const sizes: [keyof LlamaCheckpoint['arrays'] | 'ropeTables', number][] = [
    ['tokenEmbedding', c.vocab * c.dim],
    ['rmsAtt', c.layers * c.dim],
    ['wq', c.layers * c.heads * hs * c.dim],
    ['wk', c.layers * c.kvHeads * hs * c.dim],
    ['wv', c.layers * c.kvHeads * hs * c.dim],
    ['wo', c.layers * c.dim * c.heads * hs],
    ['rmsFfn', c.layers * c.dim],
    ['w1', c.layers * c.hidden * c.dim],
    ['w2', c.layers * c.dim * c.hidden],
    ['w3', c.layers * c.hidden * c.dim],
    ['rmsFinal', c.dim],
    ['ropeTables', c.context * hs],
  ];
  if (!c.tiedEmbeddings) sizes.push(['wcls', c.vocab * c.dim]);
  return sizes;
}

/** The size in bytes a checkpoint of this configuration has. */
export function checkpointBytes(c: LlamaConfig): number {
  return HEADER_BYTES + 4 * arraySizes(c).reduce((sum, [, n]) => sum + n, 0);
}

/** Reads and checks a whole checkpoint; `where` names the file in every message. */
export function readLlamaCheckpoint(bytes: Uint8Array, where: string): LlamaCheckpoint {
  const config = readLlamaConfig(bytes, where);
  const expected = checkpointBytes(config);
  if (bytes.length !== expected) {
    const shape =
      `dim ${config.dim}, hidden ${config.hidden}, ${config.layers} layers, ` +
      `${config.heads} heads (${config.kvHeads} kv), ` +
      `vocabulary ${config.vocab}${config.tiedEmbeddings ? '' : ' untied'}, context ${config.context}`;
    const untiedHint =
      config.tiedEmbeddings && bytes.length === expected + 4 * config.vocab * config.dim
        ? ' (exactly one classifier too many: was vocab_size meant to be negative?)'
        : '';
    throw badCheckpoint(
      where,
      `its header (${shape}) needs ${expected} bytes, the file has ` +
        `${bytes.length}${bytes.length < expected ? ' (truncated?)' : ''}${untiedHint}`,
    );
  }
  // One aligned copy: a Float32Array view needs a 4-byte-aligned offset, which a slice of a
  // packed file need not have.
  const floats = new Float32Array(bytes.slice(HEADER_BYTES).buffer);
  const arrays: Partial<LlamaCheckpoint['arrays']> = {};
  let offset = 0;
  for (const [name, n] of arraySizes(config)) {
    const values = floats.subarray(offset, offset + n);
    if (name !== 'ropeTables') {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw badCheckpoint(
          where,
          `array ${name} holds ${values[bad]} at index ${bad} (byte ${HEADER_BYTES + 4 * (offset + bad)})`,
        );
      arrays[name] = values;
    }
    offset += n;
  }
  if (config.tiedEmbeddings) arrays.wcls = arrays.tokenEmbedding!;
  return { config, arrays: arrays as LlamaCheckpoint['arrays'] };
}

/** Writes a checkpoint in the same format (tests, and users who convert a trained model back). */
export function writeLlamaCheckpoint(checkpoint: LlamaCheckpoint): Uint8Array {
  const c = checkpoint.config;
  const out = new Uint8Array(checkpointBytes(c));
  const view = new DataView(out.buffer);
  const hidden = c.mlp === 'bilinear' ? -c.hidden : c.hidden;
  [c.dim, hidden, c.layers, c.heads, c.kvHeads, c.tiedEmbeddings ? c.vocab : -c.vocab, c.context].forEach(
    (v, i) => view.setInt32(i * 4, v, true),
  );
  const floats = new Float32Array(out.buffer, HEADER_BYTES);
  let offset = 0;
  for (const [name, n] of arraySizes(c)) {
    if (name !== 'ropeTables') floats.set(checkpoint.arrays[name].subarray(0, n), offset);
    offset += n;
  }
  return out;
}
