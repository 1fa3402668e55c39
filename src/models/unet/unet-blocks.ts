import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { Conv2d } from '../layers.js';
import { swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';
import { ResnetBlock2D } from './resnet.js';
import { Transformer2DModel, type Transformer2DOptions } from './transformer-2d.js';

/** What every block of one UNet shares. */
export interface BlockContext {
  groups: number;
  eps: number;
  tembChannels: number;
  contextDim: number;
  linearProjection: boolean;
  /** The most bytes one binding may cover (`Infinity`: no limit); see `GegluFeedForward`. */
  maxBindingBytes: number;
}

/** A resnet and, in CrossAttn blocks, the transformer after it. */
class ResnetAttentionPair<T extends TensorLike> {
  constructor(
    private readonly resnet: ResnetBlock2D<T>,
    private readonly attention: Transformer2DModel<T> | null,
  ) {}

  static load<T extends TensorLike>(
    w: ModelWeights<T>,
    prefix: string,
    j: number,
    inChannels: number,
    outChannels: number,
    heads: number | null,
    transformerLayers: number,
    ctx: BlockContext,
  ): ResnetAttentionPair<T> {
    const resnet = ResnetBlock2D.load(w, `${prefix}.resnets.${j}`, { inChannels, outChannels, groups: ctx.groups, eps: ctx.eps, tembChannels: ctx.tembChannels });
    const attention = heads === null ? null : Transformer2DModel.load(w, `${prefix}.attentions.${j}`, transformerOptions(outChannels, heads, transformerLayers, ctx));
    return new ResnetAttentionPair(resnet, attention);
  }

  /** `x` is not released. */
  forward(ops: TensorOps<T>, x: T, tembAct: T, context: T): T {
    const h = this.resnet.forward(ops, x, tembAct);
    return this.attention ? swap(ops, h, this.attention.forward(ops, h, context)) : h;
  }
}

function transformerOptions(channels: number, heads: number, layers: number, ctx: BlockContext): Transformer2DOptions {
  return { channels, heads, layers, contextDim: ctx.contextDim, groups: ctx.groups, linearProjection: ctx.linearProjection, maxBindingBytes: ctx.maxBindingBytes };
}

/** `CrossAttnDownBlock2D` (heads given) or `DownBlock2D` (heads null). */
export class DownBlock<T extends TensorLike> {
  private constructor(
    private readonly layers: ResnetAttentionPair<T>[],
    private readonly downsampler: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(
    w: ModelWeights<T>,
    prefix: string,
    o: {
      inChannels: number;
      outChannels: number;
      layers: number;
      heads: number | null;
      /** Transformer blocks in each attention (`transformer_layers_per_block`); unused without heads. */
      transformerLayers: number;
      downsample: boolean;
    },
    ctx: BlockContext,
  ): DownBlock<T> {
    const layers = Array.from({ length: o.layers }, (_, j) =>
      ResnetAttentionPair.load(w, prefix, j, j === 0 ? o.inChannels : o.outChannels, o.outChannels, o.heads, o.transformerLayers, ctx),
    );
    const down = o.downsample ? Conv2d.load(w, `${prefix}.downsamplers.0.conv`, o.outChannels, o.outChannels, 3, { stride: 2 }) : null;
    return new DownBlock(layers, down);
  }

  /**
   * `x` is the top of `skips` (the skip stack owns it). Pushes each layer's output and the
   * downsampler's onto `skips`, which then own them, and returns the last.
   */
  forward(ops: TensorOps<T>, x: T, tembAct: T, context: T, skips: T[]): T {
    let h = x;
    for (const layer of this.layers) {
      h = layer.forward(ops, h, tembAct, context);
      skips.push(h);
    }
    if (this.downsampler) {
      h = this.downsampler.forward(ops, h);
      skips.push(h);
    }
    return h;
  }
}

/** `UNetMidBlock2DCrossAttn`: resnet, transformer, resnet. */
export class MidBlock<T extends TensorLike> {
  private constructor(
    private readonly first: ResnetAttentionPair<T>,
    private readonly second: ResnetBlock2D<T>,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, heads: number, transformerLayers: number, ctx: BlockContext): MidBlock<T> {
    return new MidBlock(
      ResnetAttentionPair.load(w, prefix, 0, channels, channels, heads, transformerLayers, ctx),
      ResnetBlock2D.load(w, `${prefix}.resnets.1`, { inChannels: channels, outChannels: channels, groups: ctx.groups, eps: ctx.eps, tembChannels: ctx.tembChannels }),
    );
  }

  /** `x` is not released. */
  forward(ops: TensorOps<T>, x: T, tembAct: T, context: T): T {
    const h = this.first.forward(ops, x, tembAct, context);
    return swap(ops, h, this.second.forward(ops, h, tembAct));
  }
}

/** `CrossAttnUpBlock2D` (heads given) or `UpBlock2D` (heads null). */
export class UpBlock<T extends TensorLike> {
  private constructor(
    private readonly layers: ResnetAttentionPair<T>[],
    private readonly upsampler: Conv2d<T> | null,
  ) {}

  /** `skipChannels[j]` is the width of the skip tensor that resnet j concatenates. */
  static load<T extends TensorLike>(
    w: ModelWeights<T>,
    prefix: string,
    o: {
      prevChannels: number;
      outChannels: number;
      skipChannels: number[];
      heads: number | null;
      /** Transformer blocks in each attention; unused without heads. */
      transformerLayers: number;
      upsample: boolean;
    },
    ctx: BlockContext,
  ): UpBlock<T> {
    const layers = o.skipChannels.map((skip, j) =>
      ResnetAttentionPair.load(w, prefix, j, (j === 0 ? o.prevChannels : o.outChannels) + skip, o.outChannels, o.heads, o.transformerLayers, ctx),
    );
    const up = o.upsample ? Conv2d.load(w, `${prefix}.upsamplers.0.conv`, o.outChannels, o.outChannels, 3) : null;
    return new UpBlock(layers, up);
  }

  /** Consumes `x` and the skips it pops (last first). */
  forward(ops: TensorOps<T>, x: T, tembAct: T, context: T, skips: T[]): T {
    let h = x;
    for (const layer of this.layers) {
      const skip = skips.pop()!;
      const cat = ops.concatChannels(h, skip);
      ops.release(h);
      ops.release(skip);
      h = swap(ops, cat, layer.forward(ops, cat, tembAct, context));
    }
    if (this.upsampler) {
      // To the next skip's size, as diffusers does (`upsample_size`) when a side did not halve
      // evenly on the way down (a 65-pixel latent went to 33): 2× otherwise.
      const next = skips[skips.length - 1];
      const size = next ? ([next.shape[2]!, next.shape[3]!] as const) : undefined;
      h = swap(ops, h, ops.upsampleNearest2x(h, size));
      h = swap(ops, h, this.upsampler.forward(ops, h));
    }
    return h;
  }
}
