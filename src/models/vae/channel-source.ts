import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { Conv2d } from '../layers.js';

/**
 * An activation [B, C, H, W] of the VAE decoder that its consumer reads channel range by channel
 * range: either held whole, or produced range by range and never held. An upsampler's output at
 * 1024² is 4× its input (1 GiB in f32 for SDXL's 256 channels); produced in ranges, only its input
 * and one range exist at a time.
 */
export interface ChannelSource<T extends TensorLike> {
  readonly shape: readonly [number, number, number, number];
  /** The activation itself, when it is held whole; null when it is produced range by range. */
  readonly whole: T | null;
  /** Elements the source keeps alive until it is released (the whole activation, or the producer's input). */
  readonly heldElements: number;
  /** Channels [c0, c1) as a new tensor, which the caller releases. */
  produce(ops: TensorOps<T>, c0: number, c1: number): T;
  /** Releases what the source holds. */
  release(ops: TensorOps<T>): void;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A source over a tensor held whole; `produce` is never needed (consumers read `whole` by range). */
export function heldSource<T extends TensorLike>(x: T): ChannelSource<T> {
  const [B = 1, C = 1, H = 1, W = 1] = x.shape;
  return {
    shape: [B, C, H, W],
    whole: x,
    heldElements: size(x.shape),
    produce: () => {
      throw new Error('heldSource: read a held activation through `whole`');
    },
    release: (ops) => ops.release(x),
  };
}

/**
 * diffusers' `Upsample2D` (nearest ×2, then a 3×3 conv) of `z`, produced by output channel range:
 * the conv reads z through the upsampling, so neither the upsampled input nor the whole output
 * exists. Each range costs its share of the conv, so producing every range once costs one conv.
 */
export function upsampledSource<T extends TensorLike>(z: T, conv: Conv2d<T>): ChannelSource<T> {
  const [B = 1, , H = 1, W = 1] = z.shape;
  return {
    shape: [B, conv.weight.shape[0]!, 2 * H, 2 * W],
    whole: null,
    heldElements: size(z.shape),
    produce: (ops, c0, c1) => conv.forward(ops, z, { upsample: true, outputChannels: [c0, c1] }),
    release: (ops) => ops.release(z),
  };
}
