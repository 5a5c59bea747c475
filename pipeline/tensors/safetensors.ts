/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written here so
 * that every trained model can be loaded by PyTorch, JAX, NumPy or anything else.
 *
 * Layout: an 8-byte little-endian header length N; N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`, padded
 * with spaces to a multiple of 8; then the raw little-endian tensor bytes. Tensors are written in
 * name order so the same tensors always give the same bytes.
 */
import { PipelineError } from '../errors.ts';

export type DType = 'F32' | 'F64' | 'I32' | 'U8';
type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface NamedTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

const BYTES: Record<DType, number> = { F32: 4, F64: 8, I32: 4, U8: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  return 'U8';
}

/** A tensor from a typed array and its shape; checks that the shape fits the data. */
export function tensor(data: TypedArray, shape: number[]): NamedTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new Error(`shape [${shape.join(', ')}] holds ${size} values but the data has ${data.length}`);
  }
  return { dtype: dtypeOf(data), shape, data };
}

export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name]!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Reads a safetensors buffer; `source` names the file in errors. Copies data so it is aligned. */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  const fail = (why: string) =>
    new PipelineError(`${source} is not a valid safetensors file: ${why}`, {
      hint: 'the file may be truncated or from another format; regenerate it with --force',
    });
  if (bytes.length < 8) throw fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
    throw fail(`header length ${headerLength} exceeds the file size ${bytes.length}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    throw fail('its header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors[name] = decodeEntry(name, entry, bytes, dataStart, dataLength, fail);
  }
  return { tensors, metadata: (header['__metadata__'] as Record<string, string> | undefined) ?? {} };
}

function decodeEntry(
  name: string,
  entry: unknown,
  bytes: Uint8Array,
  dataStart: number,
  dataLength: number,
  fail: (why: string) => Error,
): NamedTensor {
  const {
    dtype,
    shape,
    data_offsets: offsets,
  } = entry as { dtype: DType; shape: number[]; data_offsets: [number, number] };
  if (!(dtype in BYTES)) throw fail(`tensor '${name}' has unsupported dtype ${String(dtype)}`);
  if (!Array.isArray(shape) || !Array.isArray(offsets))
    throw fail(`tensor '${name}' lacks shape or data_offsets`);
  const [begin, end] = offsets;
  const size = shape.reduce((a, b) => a * b, 1);
  if (end > dataLength || begin > end || end - begin !== size * BYTES[dtype]) {
    throw fail(
      `tensor '${name}' spans bytes ${begin}..${end} but the data section has ` +
        `${dataLength} bytes for shape [${shape}]`,
    );
  }
  // a copy: aligned, and not a view of a pooled Buffer
  const raw = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end));
  const data =
    dtype === 'F32'
      ? new Float32Array(raw.buffer)
      : dtype === 'F64'
        ? new Float64Array(raw.buffer)
        : dtype === 'I32'
          ? new Int32Array(raw.buffer)
          : raw;
  return { dtype, shape, data };
}
