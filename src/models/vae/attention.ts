import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { GroupNorm, Linear } from '../layers.js';
import { moveReshape, swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';

/**
 * The attention of the VAE's mid blocks (diffusers' `Attention` built with
 * `_from_deprecated_attn_block`): one head over the H·W positions, a group norm first, q/k/v with
 * bias, then the residual add.
 */
export class VaeAttention<T extends TensorLike> {
  private constructor(
    private readonly norm: GroupNorm<T>,
    private readonly q: Linear<T>,
    private readonly k: Linear<T>,
    private readonly v: Linear<T>,
    private readonly out: Linear<T>,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, groups: number, eps: number): VaeAttention<T> {
    return new VaeAttention(
      GroupNorm.load(w, `${prefix}.group_norm`, channels, groups, eps),
      Linear.load(w, `${prefix}.to_q`, channels, channels),
      Linear.load(w, `${prefix}.to_k`, channels, channels),
      Linear.load(w, `${prefix}.to_v`, channels, channels),
      Linear.load(w, `${prefix}.to_out.0`, channels, channels),
    );
  }

  /** `x` [B, C, H, W] is not released. */
  forward(ops: TensorOps<T>, x: T): T {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    let h = this.norm.forward(ops, x);
    h = moveReshape(ops, h, [B, C, H * W]);
    h = swap(ops, h, ops.transpose(h));
    const q = this.q.forward(ops, h);
    const k = this.k.forward(ops, h);
    const v = this.v.forward(ops, h);
    ops.release(h);
    let a = ops.attention(q, k, v, { heads: 1 });
    ops.release(q);
    ops.release(k);
    ops.release(v);
    a = swap(ops, a, this.out.forward(ops, a));
    a = swap(ops, a, ops.transpose(a));
    a = moveReshape(ops, a, [B, C, H, W]);
    return swap(ops, a, ops.add(a, x));
  }
}
