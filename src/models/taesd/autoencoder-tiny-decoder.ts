import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { ModelInputError } from '../errors.js';
import { Conv2d } from '../layers.js';
import { swap } from '../lifetime.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { AutoencoderTinyConfig } from './config.js';

/** `AutoencoderTinyBlock`: ReLU(conv(ReLU(conv(ReLU(conv(x))))) + skip(x)), skip a bias-free 1x1 conv or identity. */
class TinyBlock<T extends TensorLike> {
  private constructor(
    private readonly convs: [Conv2d<T>, Conv2d<T>, Conv2d<T>],
    private readonly skip: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, cin: number, cout: number): TinyBlock<T> {
    return new TinyBlock(
      [Conv2d.load(w, `${prefix}.conv.0`, cin, cout, 3), Conv2d.load(w, `${prefix}.conv.2`, cout, cout, 3), Conv2d.load(w, `${prefix}.conv.4`, cout, cout, 3)],
      cin === cout ? null : Conv2d.load(w, `${prefix}.skip`, cin, cout, 1, { bias: false }),
    );
  }

  /** Consumes `x`. */
  forward(ops: TensorOps<T>, x: T): T {
    let h = this.convs[0].forward(ops, x, { act: 'relu' });
    h = swap(ops, h, this.convs[1].forward(ops, h, { act: 'relu' }));
    const skip = this.skip ? swap(ops, x, this.skip.forward(ops, x)) : x;
    h = swap(ops, h, this.convs[2].forward(ops, h, { residual: skip }));
    ops.release(skip);
    return swap(ops, h, ops.unary(h, 'relu'));
  }
}

/** One entry of diffusers' `DecoderTiny.layers` Sequential. */
type Layer<T extends TensorLike> = { kind: 'block'; block: TinyBlock<T> } | { kind: 'upsample' } | { kind: 'conv'; conv: Conv2d<T>; relu: boolean };

/**
 * The decoding half of diffusers' `AutoencoderTiny` (TAESD): `2·decoder(latents) − 1`, where the
 * decoder starts with `tanh(latents/3)·3`. Widths and block counts come from the config.
 */
export class AutoencoderTinyDecoder<T extends TensorLike> {
  private constructor(
    readonly config: AutoencoderTinyConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly layers: Layer<T>[],
  ) {}

  /** Builds the decoder from the TAESD state dict (`decoder.layers.*`; `encoder.*` is ignored). Calls `dict.finish()`. */
  static load<T extends TensorLike>(ops: TensorOps<T>, config: AutoencoderTinyConfig, dict: StateDict, options: WeightOptions = {}): AutoencoderTinyDecoder<T> {
    dict.ignore('encoder.');
    const w = new ModelWeights(ops, dict, options);
    try {
      const model = new AutoencoderTinyDecoder(config, ops, w, AutoencoderTinyDecoder.buildLayers(w, config));
      dict.finish();
      return model;
    } catch (err) {
      w.releaseAll();
      throw err;
    }
  }

  // Mirrors DecoderTiny's Sequential, whose indices are the checkpoint's key names: the ReLU and
  // Upsample entries hold no weights but still take an index.
  private static buildLayers<T extends TensorLike>(w: ModelWeights<T>, c: AutoencoderTinyConfig): Layer<T>[] {
    const widths = c.decoderBlockOutChannels;
    const layers: Layer<T>[] = [{ kind: 'conv', conv: Conv2d.load(w, 'decoder.layers.0', c.latentChannels, widths[0]!, 3), relu: true }];
    let index = 2;
    c.numDecoderBlocks.forEach((count, i) => {
      const width = widths[i]!;
      const final = i === widths.length - 1;
      for (let b = 0; b < count; b++) layers.push({ kind: 'block', block: TinyBlock.load(w, `decoder.layers.${index++}`, width, width) });
      if (!final) {
        layers.push({ kind: 'upsample' });
        index++;
      }
      const conv = Conv2d.load(w, `decoder.layers.${index++}`, width, final ? c.outChannels : width, 3, { bias: final });
      layers.push({ kind: 'conv', conv, relu: false });
    });
    return layers;
  }

  /** `latents` [B, latent_channels, h, w] (not released) → image [B, out_channels, h·2^(n−1), w·2^(n−1)], about [−1, 1]. */
  decode(latents: T): T {
    const ops = this.ops;
    if (latents.shape.length !== 4 || latents.shape[1] !== this.config.latentChannels) {
      throw new ModelInputError('AutoencoderTiny', `latents have shape [${latents.shape}], expected [B, ${this.config.latentChannels}, h, w].`);
    }
    let h = ops.scale(latents, 1 / 3);
    h = swap(ops, h, ops.unary(h, 'tanh'));
    h = swap(ops, h, ops.scale(h, 3));
    for (const layer of this.layers) {
      if (layer.kind === 'block') h = layer.block.forward(ops, h);
      else if (layer.kind === 'upsample') h = swap(ops, h, ops.upsampleNearest2x(h));
      else h = swap(ops, h, layer.conv.forward(ops, h, layer.relu ? { act: 'relu' } : {}));
    }
    return swap(ops, h, ops.scale(h, 2, -1));
  }

  /** Releases the decoder's weights. */
  release(): void {
    this.weights.releaseAll();
  }
}
