import type { TensorLike } from '../../webgpu/kernels/ops.js';

/**
 * One LoRA's low-rank update of one layer, run unfused beside the base weight:
 * `y = W·x + scale · up(down(x))`. For a Linear [out, in], `down` is [r, in] and `up` [out, r];
 * for a Conv2d [out, in, k, k], `down` is a conv [r, in, k, k] with the base's stride and padding
 * and `up` a 1x1 conv [out, r, 1, 1]. `scale` is the request's scale times `alpha / r`.
 */
export interface LoraAdapter<T extends TensorLike> {
  readonly down: T;
  readonly up: T;
  readonly scale: number;
}

/** A layer a LoRA can adapt: its base weight (for the shape checks) and the adapters it runs. */
export interface LoraTarget<T extends TensorLike> {
  readonly kind: 'linear' | 'conv2d';
  readonly weight: T;
  /** The adapters applied from the next forward on (empty: the base layer alone, bit for bit). */
  adapters: readonly LoraAdapter<T>[];
}
