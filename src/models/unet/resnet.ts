import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { Conv2d, GroupNorm, Linear } from '../layers.js';
import { swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';

export interface ResnetBlock2DOptions {
  inChannels: number;
  outChannels: number;
  groups: number;
  eps: number;
  /** Width of the time embedding, or null for the VAE's resnets, which have none. */
  tembChannels: number | null;
}

/**
 * diffusers' `ResnetBlock2D` (time-scale-shift "default", output scale 1):
 * `(conv_shortcut(x) or x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb)))))`.
 */
export class ResnetBlock2D<T extends TensorLike> {
  private constructor(
    private readonly norm1: GroupNorm<T>,
    private readonly conv1: Conv2d<T>,
    private readonly timeEmbProj: Linear<T> | null,
    private readonly norm2: GroupNorm<T>,
    private readonly conv2: Conv2d<T>,
    private readonly convShortcut: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, o: ResnetBlock2DOptions): ResnetBlock2D<T> {
    return new ResnetBlock2D(
      GroupNorm.load(w, `${prefix}.norm1`, o.inChannels, o.groups, o.eps),
      Conv2d.load(w, `${prefix}.conv1`, o.inChannels, o.outChannels, 3),
      o.tembChannels === null ? null : Linear.load(w, `${prefix}.time_emb_proj`, o.tembChannels, o.outChannels),
      GroupNorm.load(w, `${prefix}.norm2`, o.outChannels, o.groups, o.eps),
      Conv2d.load(w, `${prefix}.conv2`, o.outChannels, o.outChannels, 3),
      o.inChannels === o.outChannels ? null : Conv2d.load(w, `${prefix}.conv_shortcut`, o.inChannels, o.outChannels, 1),
    );
  }

  /**
   * `tembAct` is `SiLU(temb)` [B, tembChannels], computed once per UNet call and shared by every
   * resnet; null for the VAE. `x` is not released.
   */
  forward(ops: TensorOps<T>, x: T, tembAct: T | null): T {
    let h = this.norm1.forward(ops, x, true);
    h = swap(ops, h, this.conv1.forward(ops, h));
    if (this.timeEmbProj && tembAct) {
      const t = this.timeEmbProj.forward(ops, tembAct);
      h = swap(ops, h, ops.add(h, t));
      ops.release(t);
    }
    h = swap(ops, h, this.norm2.forward(ops, h, true));
    const shortcut = this.convShortcut ? this.convShortcut.forward(ops, x) : x;
    const out = this.conv2.forward(ops, h, { residual: shortcut });
    ops.release(h);
    if (shortcut !== x) ops.release(shortcut);
    return out;
  }
}
