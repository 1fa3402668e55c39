import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { legacyVaeAttentionRename } from '../../io/state-dict-renames.js';
import { ModelInputError } from '../errors.js';
import { Conv2d, GroupNorm } from '../layers.js';
import { heldSource, upsampledSource, type ChannelSource } from './channel-source.js';
import { channelRanges, DecoderResnet, DEFAULT_DECODER_MEMORY, normConv, type DecoderMemory } from './decoder-resnet.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { AutoencoderKLConfig } from './config.js';
import { VaeMidBlock } from './mid-block.js';

/** The VAE's epsilon for every norm of the decoder. */
const EPS = 1e-6;

/**
 * `UpDecoderBlock2D`: `layers_per_block + 1` resnets, then nearest ×2 and a 3x3 conv except in
 * the last block. The upsampler's output is handed on as a source the next block produces range
 * by range, so it never exists whole.
 */
class UpDecoderBlock<T extends TensorLike> {
  private constructor(
    private readonly resnets: DecoderResnet<T>[],
    private readonly upsampler: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, cin: number, cout: number, layers: number, groups: number, upsample: boolean): UpDecoderBlock<T> {
    const resnets = Array.from({ length: layers }, (_, j) => DecoderResnet.load(w, `${prefix}.resnets.${j}`, j === 0 ? cin : cout, cout, groups, EPS));
    return new UpDecoderBlock(resnets, upsample ? Conv2d.load(w, `${prefix}.upsamplers.0.conv`, cout, cout, 3) : null);
  }

  /** Consumes `src`. */
  forward(ops: TensorOps<T>, src: ChannelSource<T>, memory: DecoderMemory): ChannelSource<T> {
    for (const r of this.resnets) src = heldSource(r.forward(ops, src, memory));
    // layers_per_block + 1 ≥ 1 resnets, so src is held here.
    return this.upsampler ? upsampledSource(src.whole!, this.upsampler) : src;
  }
}

/**
 * The decoding half of diffusers' `AutoencoderKL`: `decoder(post_quant_conv(latents))`, i.e.
 * `vae.decode(latents).sample`, the raw output before `/2 + 0.5` and clamping.
 */
export class AutoencoderKLDecoder<T extends TensorLike> {
  private constructor(
    readonly config: AutoencoderKLConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly postQuantConv: Conv2d<T> | null,
    private readonly convIn: Conv2d<T>,
    private readonly midBlock: VaeMidBlock<T>,
    private readonly upBlocks: UpDecoderBlock<T>[],
    private readonly convNormOut: GroupNorm<T>,
    private readonly convOut: Conv2d<T>,
  ) {}

  /**
   * Builds the decoder from the full VAE state dict: `encoder.*` and `quant_conv.*` are ignored,
   * old attention names (`query`, `key`, `value`, `proj_attn`, also as 1x1 convs) are mapped.
   * Calls `dict.finish()`.
   */
  static load<T extends TensorLike>(ops: TensorOps<T>, config: AutoencoderKLConfig, dict: StateDict, options: WeightOptions = {}): AutoencoderKLDecoder<T> {
    dict.rename(legacyVaeAttentionRename).ignore('encoder.').ignore('quant_conv.');
    const w = new ModelWeights(ops, dict, options);
    try {
      const model = AutoencoderKLDecoder.build(w, config);
      dict.finish();
      return model;
    } catch (err) {
      w.releaseAll();
      throw err;
    }
  }

  private static build<T extends TensorLike>(w: ModelWeights<T>, c: AutoencoderKLConfig): AutoencoderKLDecoder<T> {
    const reversed = [...c.blockOutChannels].reverse();
    const deepest = reversed[0]!;
    const g = c.normNumGroups;
    const postQuantConv = c.usePostQuantConv ? Conv2d.load(w, 'post_quant_conv', c.latentChannels, c.latentChannels, 1) : null;
    const convIn = Conv2d.load(w, 'decoder.conv_in', c.latentChannels, deepest, 3);
    const midBlock = VaeMidBlock.load(w, 'decoder.mid_block', deepest, g, EPS, c.midBlockAddAttention);
    let prev = deepest;
    const upBlocks = reversed.map((out, i) => {
      const block = UpDecoderBlock.load(w, `decoder.up_blocks.${i}`, prev, out, c.layersPerBlock + 1, g, i < reversed.length - 1);
      prev = out;
      return block;
    });
    const last = c.blockOutChannels[0]!;
    const convNormOut = GroupNorm.load(w, 'decoder.conv_norm_out', last, g, EPS);
    const convOut = Conv2d.load(w, 'decoder.conv_out', last, c.outChannels, 3);
    return new AutoencoderKLDecoder(c, w.ops, w, postQuantConv, convIn, midBlock, upBlocks, convNormOut, convOut);
  }

  /**
   * `latents` [B, latent_channels, h, w], already divided by `scaling_factor` (not released) →
   * image [B, out_channels, h·2^(n−1), w·2^(n−1)]. Norms and convs above 512² run over channel
   * ranges that keep the working set within `memory` (the same result, in more dispatches).
   */
  decode(latents: T, memory: DecoderMemory = DEFAULT_DECODER_MEMORY): T {
    const ops = this.ops;
    if (latents.shape.length !== 4 || latents.shape[1] !== this.config.latentChannels) {
      throw new ModelInputError('AutoencoderKL', `latents have shape [${latents.shape}], expected [B, ${this.config.latentChannels}, h, w].`);
    }
    const z = this.postQuantConv ? this.postQuantConv.forward(ops, latents) : latents;
    let h = this.convIn.forward(ops, z);
    if (z !== latents) ops.release(z);
    h = this.midBlock.forward(ops, h);
    let src = heldSource(h);
    for (const block of this.upBlocks) src = block.forward(ops, src, memory);
    // The last block has no upsampler, so its output is held.
    const x = src.whole!;
    const [B, C, H, W] = src.shape;
    const plane = B * H * W;
    const ranges = channelRanges(C, C / this.convNormOut.groups, (C + this.config.outChannels) * plane, plane, memory);
    const image = normConv(ops, x, this.convNormOut, this.convOut, ranges, null);
    ops.release(x);
    return image;
  }

  /** Releases the decoder's weights. */
  release(): void {
    this.weights.releaseAll();
  }
}
