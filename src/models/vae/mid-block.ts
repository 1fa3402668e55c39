import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { swap } from '../lifetime.js';
import { ResnetBlock2D } from '../unet/resnet.js';
import type { ModelWeights } from '../weights.js';
import { VaeAttention } from './attention.js';

/**
 * diffusers' `UNetMidBlock2D` as the VAE's encoder and decoder use it: `resnets.0`, then
 * `attentions.0` (unless `mid_block_add_attention` is false), then `resnets.1`, all without a
 * time embedding.
 */
export class VaeMidBlock<T extends TensorLike> {
  private constructor(
    private readonly resnet1: ResnetBlock2D<T>,
    private readonly attention: VaeAttention<T> | null,
    private readonly resnet2: ResnetBlock2D<T>,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, groups: number, eps: number, addAttention: boolean): VaeMidBlock<T> {
    const resnet = (j: number) => ResnetBlock2D.load(w, `${prefix}.resnets.${j}`, { inChannels: channels, outChannels: channels, groups, eps, tembChannels: null });
    const first = resnet(0);
    const attention = addAttention ? VaeAttention.load(w, `${prefix}.attentions.0`, channels, groups, eps) : null;
    return new VaeMidBlock(first, attention, resnet(1));
  }

  /** Consumes `x`. */
  forward(ops: TensorOps<T>, x: T): T {
    x = swap(ops, x, this.resnet1.forward(ops, x, null));
    if (this.attention) x = swap(ops, x, this.attention.forward(ops, x));
    return swap(ops, x, this.resnet2.forward(ops, x, null));
  }
}
