import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, tensor } from '../../pipeline/tensors/safetensors.ts';

const sample = () => ({
  W: tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
  lambda: tensor(Float64Array.from([0.5, -0.25]), [2]),
  labels: tensor(Uint8Array.from([3, 1, 4]), [3]),
});

test('round trip keeps names, dtypes, shapes, values and metadata', () => {
  const bytes = encodeSafetensors(sample(), { note: 'x' });
  const { tensors, metadata } = decodeSafetensors(bytes, 'test');
  assert.deepEqual(Object.keys(tensors).sort(), ['W', 'labels', 'lambda']);
  assert.equal(tensors['W']!.dtype, 'F32');
  assert.deepEqual(tensors['W']!.shape, [2, 3]);
  assert.deepEqual(Array.from(tensors['W']!.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(tensors['lambda']!.data), [0.5, -0.25]);
  assert.deepEqual(Array.from(tensors['labels']!.data), [3, 1, 4]);
  assert.deepEqual(metadata, { note: 'x' });
});

test('layout follows the format: u64 header length, JSON header padded to 8, data in name order', () => {
  const bytes = encodeSafetensors(sample());
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()) as Record<
    string,
    { data_offsets: number[] }
  >;
  assert.deepEqual(header.W, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header['labels']!.data_offsets, [24, 27]);
  assert.deepEqual(header['lambda']!.data_offsets, [27, 43]);
  assert.equal(bytes.length, 8 + n + 43);
});

test('same tensors give the same bytes', () => {
  assert.deepEqual(encodeSafetensors(sample()), encodeSafetensors(sample()));
});

test('a truncated file or a bad header fails with a message that names the file', () => {
  const bytes = encodeSafetensors(sample());
  assert.throws(
    () => decodeSafetensors(bytes.subarray(0, bytes.length - 5), 'model.safetensors'),
    /model\.safetensors is not a valid safetensors file: tensor '.*' spans bytes/,
  );
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 4), 'm.st'), /fewer than the 8-byte header length/);
  assert.throws(
    () => decodeSafetensors(bytes.subarray(0, 20), 'm.st'),
    /header length \d+ exceeds the file size 20/,
  );
  const garbled = Uint8Array.from(bytes);
  garbled[9] = 0x7b; // '{' inside the header: no longer JSON
  garbled[10] = 0x7b;
  assert.throws(() => decodeSafetensors(garbled, 'm.st'), /its header is not JSON/);
});

test('a shape that does not fit its data is refused when building a tensor', () => {
  assert.throws(
    () => tensor(new Float32Array(5), [2, 3]),
    /shape \[2, 3\] holds 6 values but the data has 5/,
  );
});
