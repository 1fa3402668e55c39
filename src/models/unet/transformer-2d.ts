import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { Conv2d, GroupNorm, LayerNorm, Linear } from '../layers.js';
import { moveReshape, swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';
import { GegluFeedForward } from './feed-forward.js';

/** diffusers' `Attention` as the UNet uses it: q/k/v projections without bias, `to_out.0` with bias. */
class CrossAttention<T extends TensorLike> {
  private constructor(
    private readonly toQ: Linear<T>,
    private readonly toK: Linear<T>,
    private readonly toV: Linear<T>,
    private readonly toOut: Linear<T>,
    private readonly heads: number,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, contextDim: number, heads: number): CrossAttention<T> {
    return new CrossAttention(
      Linear.load(w, `${prefix}.to_q`, channels, channels, false),
      Linear.load(w, `${prefix}.to_k`, contextDim, channels, false),
      Linear.load(w, `${prefix}.to_v`, contextDim, channels, false),
      Linear.load(w, `${prefix}.to_out.0`, channels, channels),
      heads,
    );
  }

  /** `x` [B, L, C] attends to `context` [B, Lc, contextDim] (to itself when context is x). */
  forward(ops: TensorOps<T>, x: T, context: T): T {
    const q = this.toQ.forward(ops, x);
    const k = this.toK.forward(ops, context);
    const v = this.toV.forward(ops, context);
    const a = ops.attention(q, k, v, { heads: this.heads });
    ops.release(q);
    ops.release(k);
    ops.release(v);
    return swap(ops, a, this.toOut.forward(ops, a));
  }
}

/** diffusers' `BasicTransformerBlock`: self-attention, cross-attention and a GEGLU feed-forward, each pre-LayerNorm and residual. */
class BasicTransformerBlock<T extends TensorLike> {
  private constructor(
    private readonly norm1: LayerNorm<T>,
    private readonly attn1: CrossAttention<T>,
    private readonly norm2: LayerNorm<T>,
    private readonly attn2: CrossAttention<T>,
    private readonly norm3: LayerNorm<T>,
    private readonly ff: GegluFeedForward<T>,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, o: Transformer2DOptions): BasicTransformerBlock<T> {
    const { channels, contextDim, heads } = o;
    return new BasicTransformerBlock(
      LayerNorm.load(w, `${prefix}.norm1`, channels, 1e-5),
      CrossAttention.load(w, `${prefix}.attn1`, channels, channels, heads),
      LayerNorm.load(w, `${prefix}.norm2`, channels, 1e-5),
      CrossAttention.load(w, `${prefix}.attn2`, channels, contextDim, heads),
      LayerNorm.load(w, `${prefix}.norm3`, channels, 1e-5),
      GegluFeedForward.load(w, `${prefix}.ff`, channels, o.maxBindingBytes),
    );
  }

  /** `x` [B, L, C] is consumed (released); returns the block's output. */
  forward(ops: TensorOps<T>, x: T, context: T): T {
    let n = this.norm1.forward(ops, x);
    let a = this.attn1.forward(ops, n, n);
    ops.release(n);
    x = swap(ops, x, ops.add(x, a));
    ops.release(a);

    n = this.norm2.forward(ops, x);
    a = this.attn2.forward(ops, n, context);
    ops.release(n);
    x = swap(ops, x, ops.add(x, a));
    ops.release(a);

    n = this.norm3.forward(ops, x);
    const f = this.ff.forward(ops, n);
    x = swap(ops, x, ops.add(x, f));
    ops.release(f);
    return x;
  }
}

export interface Transformer2DOptions {
  channels: number;
  heads: number;
  /** `BasicTransformerBlock`s run in order between `proj_in` and `proj_out` (`transformer_layers_per_block`). */
  layers: number;
  contextDim: number;
  groups: number;
  /** SD 2.x Linear `proj_in`/`proj_out` instead of 1x1 convs. */
  linearProjection: boolean;
  /** The most bytes one binding may cover; the feed-forward runs over token chunks above it (see `GegluFeedForward`). */
  maxBindingBytes: number;
}

/**
 * diffusers' `Transformer2DModel`: GroupNorm (eps 1e-6), `proj_in`, `layers`
 * `BasicTransformerBlock`s in turn over the H·W tokens, `proj_out`, plus the input as residual.
 */
export class Transformer2DModel<T extends TensorLike> {
  private constructor(
    private readonly norm: GroupNorm<T>,
    private readonly projIn: Conv2d<T> | Linear<T>,
    private readonly blocks: BasicTransformerBlock<T>[],
    private readonly projOut: Conv2d<T> | Linear<T>,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, o: Transformer2DOptions): Transformer2DModel<T> {
    const c = o.channels;
    const proj = (name: string) => (o.linearProjection ? Linear.load(w, `${prefix}.${name}`, c, c) : Conv2d.load(w, `${prefix}.${name}`, c, c, 1));
    return new Transformer2DModel(
      GroupNorm.load(w, `${prefix}.norm`, c, o.groups, 1e-6),
      proj('proj_in'),
      Array.from({ length: o.layers }, (_, j) => BasicTransformerBlock.load(w, `${prefix}.transformer_blocks.${j}`, o)),
      proj('proj_out'),
    );
  }

  /** `x` [B, C, H, W] (not released), `context` [B, Lc, contextDim] → [B, C, H, W]. */
  forward(ops: TensorOps<T>, x: T, context: T): T {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    let h = this.norm.forward(ops, x);
    if (this.projIn instanceof Conv2d) h = swap(ops, h, this.projIn.forward(ops, h));
    h = moveReshape(ops, h, [B, C, H * W]);
    h = swap(ops, h, ops.transpose(h));
    if (this.projIn instanceof Linear) h = swap(ops, h, this.projIn.forward(ops, h));

    for (const block of this.blocks) h = block.forward(ops, h, context);

    if (this.projOut instanceof Linear) h = swap(ops, h, this.projOut.forward(ops, h));
    h = swap(ops, h, ops.transpose(h));
    h = moveReshape(ops, h, [B, C, H, W]);
    if (this.projOut instanceof Conv2d) return swap(ops, h, this.projOut.forward(ops, h, { residual: x }));
    return swap(ops, h, ops.add(h, x));
  }
}
