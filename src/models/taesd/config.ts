import { CONFIG_LIMITS, ConfigReader } from '../config-reader.js';

/** The fields of a diffusers `AutoencoderTiny` config that shape decoding, validated. */
export interface AutoencoderTinyConfig {
  latentChannels: number;
  outChannels: number;
  /** Width of each decoder stage. */
  decoderBlockOutChannels: number[];
  /** TinyBlocks in each decoder stage. */
  numDecoderBlocks: number[];
  /** 1.0 for TAESD: it takes the UNet's latents as they are. */
  scalingFactor: number;
}

/** Validates an `AutoencoderTiny` config.json; other activations or upsamplers raise `ModelConfigError`. */
export function parseAutoencoderTinyConfig(json: unknown, fileName: string): AutoencoderTinyConfig {
  const r = new ConfigReader(json, fileName);
  r.requireDefault('act_fn', ['relu']);
  r.requireDefault('upsample_fn', ['nearest']);
  r.requireDefault('upsampling_scaling_factor', [2]);
  const decoderBlockOutChannels = r.intList('decoder_block_out_channels', [64, 64, 64, 64]);
  const numDecoderBlocks = r.intList('num_decoder_blocks', [3, 3, 3, 1], { max: CONFIG_LIMITS.maxBlockRepeats });
  if (numDecoderBlocks.length !== decoderBlockOutChannels.length) {
    r.fail('num_decoder_blocks', numDecoderBlocks, `${decoderBlockOutChannels.length} entries, one per decoder_block_out_channels entry`);
  }
  return {
    latentChannels: r.int('latent_channels', 4),
    outChannels: r.int('out_channels', 3),
    decoderBlockOutChannels,
    numDecoderBlocks,
    scalingFactor: r.number('scaling_factor', 1),
  };
}
