/**
 * The 'tfjs-node' path loads TensorFlow's GPU build first, then its CPU build; where neither is
 * installed (as on a machine without access to TensorFlow's downloads) it fails with both named,
 * and the user is told to try another path.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { selectBackend, TENSORFLOW_PACKAGES } from '../../pipeline/train/backend.ts';

const require = createRequire(import.meta.url);
const installed = TENSORFLOW_PACKAGES.filter(([name]) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
});

test(
  'tfjs-node: the GPU package first, then the CPU one; neither installed is said with both names',
  {
    skip: installed.length > 0 ? `installed here: ${installed.map(([n]) => n).join(', ')}` : false,
  },
  async () => {
    assert.deepEqual(
      TENSORFLOW_PACKAGES.map(([name]) => name),
      ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
    );
    await assert.rejects(
      selectBackend('tfjs-node'),
      (e: Error & { hint?: string }) =>
        /tfjs-node: neither TensorFlow package loads \(@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /.test(
          e.message,
        ) && e.hint === 'try --backend auto',
    );
  },
);
