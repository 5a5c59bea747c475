/**
 * Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", 2019), the optimiser the paper trains with:
 *
 *   m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
 *   θ ← θ − lr · ( m̂ / (√v̂ + ε) + λ θ ),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
 *
 * The decay λθ is added outside the adaptive scaling (that is what "decoupled" means) and scales
 * with the learning rate, as in PyTorch's AdamW, so the paper's decay values carry over.
 *
 * Parameter groups: `decayed[i]` says whether the decay applies to parameter i (a model exempts,
 * say, its norms' gains); every parameter is decayed when it is not given.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNative, type NativeAddon } from '../native/addon.ts';
import { nativeActive } from './backend.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Per parameter (constructor order): whether weight decay applies to it. Default: all. */
  decayed?: boolean[];
}

/** PyTorch's AdamW defaults, so settings from the paper's code mean the same here. */
export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

export class AdamW {
  private readonly options: AdamWOptions;
  private readonly moments: { m: tf.Variable; v: tf.Variable }[];
  private readonly params: tf.Variable[];
  private readonly decay: number[];
  private t = 0;

  constructor(params: tf.Variable[], options: Partial<AdamWOptions> = {}) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    this.params = params;
    const decayed = this.options.decayed ?? params.map(() => true);
    if (decayed.length !== params.length)
      throw new Error(`AdamW: ${decayed.length} decay flags for ${params.length} parameters`);
    this.decay = decayed.map((on) => (on ? this.options.weightDecay : 0));
    this.moments = tf.tidy(() =>
      params.map((p) => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) })),
    );
  }

  /** One update with learning rate `lr`; `grads` in the order of the constructor's params. */
  step(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon } = this.options;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const addon = nativeActive() ? loadNative() : null;
    if (addon && this.stepInPlace(addon, grads, lr, c1, c2)) return;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i]!;
        const { m, v } = this.moments[i]!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
        const weightDecay = this.decay[i]!;
        const decayed = weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  /**
   * The same update as one native loop over the wasm heap, in place (about 40 element-wise kernel
   * launches fewer per step). Only when every buffer is owned by this optimiser alone; otherwise
   * returns false and the TensorFlow.js ops run instead.
   */
  private stepInPlace(addon: NativeAddon, grads: tf.Tensor[], lr: number, c1: number, c2: number): boolean {
    const backend = tf.backend() as BackendWasm;
    const owned = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId)?.refCount === 1;
    if (!this.params.every((p, i) => owned(p) && owned(this.moments[i]!.m) && owned(this.moments[i]!.v)))
      return false;
    const { beta1, beta2, epsilon } = this.options;
    const view = (t: tf.Tensor) => backend.typedArrayFromHeap(t) as Float32Array;
    this.params.forEach((p, i) => {
      const { m, v } = this.moments[i]!;
      addon.adamw(
        view(p),
        view(grads[i]!),
        view(m),
        view(v),
        lr,
        beta1,
        beta2,
        epsilon,
        this.decay[i]!,
        c1,
        c2,
      );
    });
    return true;
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      m.dispose();
      v.dispose();
    }
  }
}
