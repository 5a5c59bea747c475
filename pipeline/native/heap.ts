/**
 * Running the addon's kernels on TensorFlow.js tensors without copies: on the wasm backend a
 * tensor's data lives in the WebAssembly heap, so a kernel can read its inputs and write new
 * tensors there through typed-array views.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNative, type NativeAddon } from './addon.ts';
import { nativeMatMulEnabled } from './kernels.ts';

/** The addon when the native kernels run on the wasm backend, else null (the portable path). */
export function nativeKernels(): NativeAddon | null {
  return nativeMatMulEnabled() && tf.getBackend() === 'wasm' ? loadNative() : null;
}

/** A tensor's data in the heap as a view of its own type (valid until the next allocation). */
export function heapView(t: tf.TensorInfo): Float32Array | Int32Array {
  return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array | Int32Array;
}

/**
 * New float32 tensors of the given shapes, filled by `fill` from views of the float32 inputs'
 * and the outputs' data in the heap. Every view is taken after every allocation, since one may
 * grow the heap and so replace its buffer: take any other view (an int32 input's) inside `fill`.
 */
export function onHeap(
  inputs: tf.Tensor[],
  shapes: number[][],
  fill: (ins: Float32Array[], outs: Float32Array[]) => void,
): tf.Tensor[] {
  const backend = tf.backend() as BackendWasm;
  const infos = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
  const view = (t: tf.TensorInfo) => heapView(t) as Float32Array;
  fill(inputs.map(view), infos.map(view));
  return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
}
