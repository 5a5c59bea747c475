/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * number (two zero bytes, a type code, the number of dimensions), each dimension as a big-endian
 * uint32, then the values. Only unsigned bytes (type 0x08) occur in these data sets. Files may be
 * gzipped. Every inconsistency is an error that names the file.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { PipelineError } from '../errors.ts';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

function corrupt(file: string, why: string): PipelineError {
  return new PipelineError(`${file} is not a valid IDX file: ${why}`, {
    exitCode: 2,
    hint:
      'the file is damaged or of another format; replace it (or delete it and ' +
      'let --download fetch it again)',
  });
}

export function parseIdx(raw: Uint8Array, file: string): IdxArray {
  let bytes = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (error) {
      throw corrupt(file, `its gzip stream is broken (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4)
    throw corrupt(file, `it has ${bytes.length} bytes, fewer than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw corrupt(
      file,
      `wrong magic number 0x${Buffer.from(bytes.subarray(0, 4)).toString('hex')} (expected 0x0000080N)`,
    );
  if (bytes[2] !== UBYTE)
    throw corrupt(file, `value type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndims = bytes[3]!;
  if (ndims < 1 || ndims > 4) throw corrupt(file, `${ndims} dimensions (expected 1 to 4)`);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) throw corrupt(file, `it ends inside its header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual < size)
    throw corrupt(
      file,
      `truncated: the header promises ${dims.join('×')} = ${size} values but ${actual} follow`,
    );
  if (actual > size)
    throw corrupt(file, `${actual - size} bytes follow the ${dims.join('×')} values the header promises`);
  return { dims, data: bytes.subarray(headerLength) };
}

export function readIdx(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

/** An IDX file's bytes for tests and fixtures: the inverse of parseIdx (uncompressed). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, UBYTE, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
