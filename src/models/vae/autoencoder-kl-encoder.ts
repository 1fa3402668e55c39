import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { legacyVaeAttentionRename } from '../../io/state-dict-renames.js';
import { ModelInputError } from '../errors.js';
import { Conv2d, GroupNorm } from '../layers.js';
import { swap } from '../lifetime.js';
import { ResnetBlock2D } from '../unet/resnet.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { AutoencoderKLConfig } from './config.js';
import { VaeMidBlock } from './mid-block.js';

/** The VAE's epsilon for every norm of the encoder. */
const EPS = 1e-6;

/**
 * `DownEncoderBlock2D`: `layers_per_block` resnets, then, except in the last block, diffusers'
 * `Downsample2D` with `padding=0`: one zero row and column after the bottom and right edges,
 * then a 3x3 conv of stride 2 without padding (not the symmetric padding of the UNet's
 * downsamplers, which would shift every output pixel by one input pixel).
 */
class DownEncoderBlock<T extends TensorLike> {
  private constructor(
    private readonly resnets: ResnetBlock2D<T>[],
    private readonly downsampler: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, cin: number, cout: number, layers: number, groups: number, downsample: boolean): DownEncoderBlock<T> {
    const resnets = Array.from({ length: layers }, (_, j) =>
      ResnetBlock2D.load(w, `${prefix}.resnets.${j}`, { inChannels: j === 0 ? cin : cout, outChannels: cout, groups, eps: EPS, tembChannels: null }),
    );
    return new DownEncoderBlock(resnets, downsample ? Conv2d.load(w, `${prefix}.downsamplers.0.conv`, cout, cout, 3, { stride: 2, padEnd: true }) : null);
  }

  /** Consumes `x`. */
  forward(ops: TensorOps<T>, x: T): T {
    for (const r of this.resnets) x = swap(ops, x, r.forward(ops, x, null));
    if (this.downsampler) x = swap(ops, x, this.downsampler.forward(ops, x));
    return x;
  }
}

/**
 * The encoding half of diffusers' `AutoencoderKL`: `quant_conv(encoder(image))`, the moments of
 * the latent posterior (`vae.encode(image).latent_dist.parameters`). Sampling from them and the
 * `scaling_factor` are the pipeline's business (see `DiagonalGaussian`).
 */
export class AutoencoderKLEncoder<T extends TensorLike> {
  private constructor(
    readonly config: AutoencoderKLConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly convIn: Conv2d<T>,
    private readonly downBlocks: DownEncoderBlock<T>[],
    private readonly midBlock: VaeMidBlock<T>,
    private readonly convNormOut: GroupNorm<T>,
    private readonly convOut: Conv2d<T>,
    private readonly quantConv: Conv2d<T> | null,
  ) {}

  /**
   * Builds the encoder from the full VAE state dict, or from one holding only `encoder.*` and
   * `quant_conv.*`: `decoder.*` and `post_quant_conv.*` are ignored, old attention names are
   * mapped as for the decoder. Calls `dict.finish()`.
   */
  static load<T extends TensorLike>(ops: TensorOps<T>, config: AutoencoderKLConfig, dict: StateDict, options: WeightOptions = {}): AutoencoderKLEncoder<T> {
    dict.rename(legacyVaeAttentionRename).ignore('decoder.').ignore('post_quant_conv.');
    const w = new ModelWeights(ops, dict, options);
    try {
      const model = AutoencoderKLEncoder.build(w, config);
      dict.finish();
      return model;
    } catch (err) {
      w.releaseAll();
      throw err;
    }
  }

  private static build<T extends TensorLike>(w: ModelWeights<T>, c: AutoencoderKLConfig): AutoencoderKLEncoder<T> {
    const widths = c.blockOutChannels;
    const g = c.normNumGroups;
    const convIn = Conv2d.load(w, 'encoder.conv_in', c.inChannels, widths[0]!, 3);
    let prev = widths[0]!;
    const downBlocks = widths.map((out, i) => {
      const block = DownEncoderBlock.load(w, `encoder.down_blocks.${i}`, prev, out, c.layersPerBlock, g, i < widths.length - 1);
      prev = out;
      return block;
    });
    const deepest = widths[widths.length - 1]!;
    const midBlock = VaeMidBlock.load(w, 'encoder.mid_block', deepest, g, EPS, c.midBlockAddAttention);
    const convNormOut = GroupNorm.load(w, 'encoder.conv_norm_out', deepest, g, EPS);
    const moments = 2 * c.latentChannels;
    const convOut = Conv2d.load(w, 'encoder.conv_out', deepest, moments, 3);
    const quantConv = c.useQuantConv ? Conv2d.load(w, 'quant_conv', moments, moments, 1) : null;
    return new AutoencoderKLEncoder(c, w.ops, w, convIn, downBlocks, midBlock, convNormOut, convOut, quantConv);
  }

  /**
   * `image` [B, in_channels, H, W] in [-1, 1] (not released) → moments
   * [B, 2·latent_channels, ⌈H/2^(n−1)⌉, ⌈W/2^(n−1)⌉]: the posterior's mean, then its log-variance.
   */
  encode(image: T): T {
    const ops = this.ops;
    if (image.shape.length !== 4 || image.shape[1] !== this.config.inChannels) {
      throw new ModelInputError('AutoencoderKL', `the image has shape [${image.shape}], expected [B, ${this.config.inChannels}, H, W].`);
    }
    let h = this.convIn.forward(ops, image);
    for (const block of this.downBlocks) h = block.forward(ops, h);
    h = this.midBlock.forward(ops, h);
    h = swap(ops, h, this.convNormOut.forward(ops, h, true));
    h = swap(ops, h, this.convOut.forward(ops, h));
    return this.quantConv ? swap(ops, h, this.quantConv.forward(ops, h)) : h;
  }

  /** Releases the encoder's weights. */
  release(): void {
    this.weights.releaseAll();
  }
}
