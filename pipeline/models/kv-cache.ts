/**
 * The sampler's key/value cache, allocated once for the whole generation and written in place:
 * per layer and slot, `held` positions (the context rounded up to whole key tiles) of every kv
 * head, each slot one contiguous stretch so that attention reads memory front to back: values
 * (held, kvHeads, hs), keys in tiles of KEY_TILE positions, (held / KEY_TILE, kvHeads, hs,
 * KEY_TILE), so that the native kernel scores eight positions at once, one per vector lane.
 * Sequence r of the batch
 * keeps its positions in slot `slots[r]`; a sequence that finishes leaves the batch by dropping
 * its row from `slots`, with nothing copied. The cache lives in ordinary memory, outside any
 * backend: the native kernel and its portable twin below read and write the same arrays.
 */
import * as tf from '@tensorflow/tfjs';
import { expVec } from '../native/fast-exp.ts';
import { nativeKernels, onHeap } from '../native/heap.ts';
import type { RopeTable } from './llama-ops.ts';

/** Positions per key tile (native/llama_kernels.c's KEY_TILE). */
export const KEY_TILE = 8;

/** The positions a cache holds per sequence for a context: whole key tiles. */
export const heldPositions = (context: number) => Math.ceil(context / KEY_TILE) * KEY_TILE;

export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  readonly heads: number;
  readonly kvHeads: number;
  /** Positions a sequence may write. */
  readonly context: number;
  /** Positions the arrays hold per sequence and kv head: the context in whole key tiles. */
  readonly held: number;
  readonly table: RopeTable;
  /** The cache slot of each sequence in the batch, row by row. */
  slots: Int32Array;

  constructor(
    layers: number,
    sequences: number,
    heads: number,
    kvHeads: number,
    context: number,
    table: RopeTable,
  ) {
    [this.heads, this.kvHeads, this.context, this.table] = [heads, kvHeads, context, table];
    this.held = heldPositions(context);
    const size = sequences * kvHeads * this.held * table.hs;
    // Natively in huge pages (hugeFloat32Array): hundreds of MiB written once each, where 4 KiB
    // pages fault page by page.
    const addon = nativeKernels();
    const allocate = () => addon?.hugeFloat32Array(size) ?? new Float32Array(size);
    this.keys = Array.from({ length: layers }, allocate);
    this.values = Array.from({ length: layers }, allocate);
    this.slots = Int32Array.from({ length: sequences }, (_, i) => i);
  }

  /** Keeps only the batch rows `rows` (in that order); their slots and positions stay where they are. */
  keepRows(rows: number[]): void {
    this.slots = Int32Array.from(rows, (r) => this.slots[r]!);
  }

  /**
   * Layer l's attention for the batch's new position `pos`: q (n, heads·hs), k and v (n,
   * kvHeads·hs) as projected, unrotated; k and v are stored; returns (n, heads·hs).
   */
  attend(l: number, q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, pos: number): tf.Tensor2D {
    const n = q.shape[0];
    const { heads, kvHeads, context, held, table } = this;
    if (pos >= context)
      throw new Error(`key/value cache: position ${pos} is beyond its ${context} positions`);
    const addon = nativeKernels();
    if (addon) {
      const [out] = onHeap([q, k, v], [[n, heads * table.hs]], ([qv, kv, vv], [ov]) =>
        addon.attendCached(
          qv!,
          kv!,
          vv!,
          this.keys[l]!,
          this.values[l]!,
          this.slots,
          n,
          heads,
          kvHeads,
          held,
          table.hs,
          pos,
          table.cos,
          table.sin,
          ov!,
        ),
      );
      return out as tf.Tensor2D;
    }
    const out = new Float32Array(n * heads * table.hs);
    attendCachedPortable(
      q.dataSync() as Float32Array,
      k.dataSync() as Float32Array,
      v.dataSync() as Float32Array,
      this.keys[l]!,
      this.values[l]!,
      this.slots,
      { heads, kvHeads, held, pos, table },
      out,
    );
    return tf.tensor2d(out, [n, heads * table.hs]);
  }
}

/** native/llama_kernels.c's attendCached in TypeScript, float32 operation for operation: the same bits. */
export function attendCachedPortable(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  slots: Int32Array,
  at: { heads: number; kvHeads: number; held: number; pos: number; table: RopeTable },
  out: Float32Array,
): void {
  const { heads: H, kvHeads: KV, held: C, pos, table } = at;
  if (C % KEY_TILE !== 0)
    throw new Error(`key/value cache: ${C} positions are not whole key tiles of ${KEY_TILE}`);
  const { hs } = table;
  const half = hs / 2;
  const f = Math.fround;
  const c = table.cos.subarray(pos * half, (pos + 1) * half);
  const s = table.sin.subarray(pos * half, (pos + 1) * half);
  /** x[from …] rotated by pos into `to`, coordinate i at to[at + i · stride]. */
  const rotateInto = (x: Float32Array, from: number, to: Float32Array, at: number, stride = 1) => {
    for (let i = 0; i < half; i++) {
      const [x0, x1] = [x[from + 2 * i]!, x[from + 2 * i + 1]!];
      to[at + 2 * i * stride] = f(x0 * c[i]!) - f(x1 * s[i]!);
      to[at + (2 * i + 1) * stride] = f(x1 * c[i]!) + f(x0 * s[i]!);
    }
  };
  /** Where coordinate 0 of kv head g's key and value at position t sit in a slot (layout in the header). */
  const keyAt = (t: number, g: number) =>
    (Math.floor(t / KEY_TILE) * KV + g) * hs * KEY_TILE + (t % KEY_TILE);
  const valueAt = (t: number, g: number) => (t * KV + g) * hs;
  const perSlot = KV * C * hs;
  const scale = f(1 / f(Math.sqrt(hs)));
  const qr = new Float32Array(hs);
  const scores = new Float32Array(pos + 1);
  for (let r = 0; r < slots.length; r++) {
    const base = slots[r]! * perSlot;
    for (let h = 0; h < KV; h++) {
      rotateInto(k, (r * KV + h) * hs, kCache, base + keyAt(pos, h), KEY_TILE);
      vCache.set(v.subarray((r * KV + h) * hs, (r * KV + h + 1) * hs), base + valueAt(pos, h));
    }
    for (let h = 0; h < H; h++) {
      rotateInto(q, (r * H + h) * hs, qr, 0);
      const g = Math.floor(h / (H / KV));
      let max = -Infinity;
      for (let t = 0; t <= pos; t++) {
        scores[t] = f(dot16(qr, kCache, base + keyAt(t, g), hs, KEY_TILE) * scale);
        max = Math.max(max, scores[t]!);
      }
      let sum = 0;
      for (let t = 0; t <= pos; t++) sum = f(sum + (scores[t] = expVec(f(scores[t]! - max))));
      const inv = f(1 / sum);
      const o = (r * H + h) * hs;
      out.fill(0, o, o + hs);
      for (let t = 0; t <= pos; t++) {
        const p = f(scores[t]! * inv);
        for (let i = 0; i < hs; i++) out[o + i] = f(out[o + i]! + f(p * vCache[base + valueAt(t, g) + i]!));
      }
    }
  }
}

/**
 * x · y, y's coordinate i at y[at + i · stride], summed as native/llama_kernels.c's score_tile:
 * 16 interleaved lanes, then the lanes in order, then the tail.
 */
function dot16(x: Float32Array, y: Float32Array, at: number, n: number, stride: number): number {
  const f = Math.fround;
  const lane = new Float32Array(16);
  let i = 0;
  for (; i + 16 <= n; i += 16)
    for (let j = 0; j < 16; j++) lane[j] = f(lane[j]! + f(x[i + j]! * y[at + (i + j) * stride]!));
  let sum = lane[0]!;
  for (let j = 1; j < 16; j++) sum = f(sum + lane[j]!);
  for (; i < n; i++) sum = f(sum + f(x[i]! * y[at + i * stride]!));
  return sum;
}
