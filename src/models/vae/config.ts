import { CONFIG_LIMITS, ConfigReader } from '../config-reader.js';

/** `scaling_factor` when a config leaves it out: diffusers' `AutoencoderKL` default, SD 1.x/2.x's. */
export const DEFAULT_SCALING_FACTOR = 0.18215;

/** The fields of a diffusers `AutoencoderKL` config that shape encoding and decoding, validated. */
export interface AutoencoderKLConfig {
  /** Image channels the encoder takes. */
  inChannels: number;
  latentChannels: number;
  outChannels: number;
  /** Encoder widths; the decoder uses them reversed. */
  blockOutChannels: number[];
  layersPerBlock: number;
  normNumGroups: number;
  /** The pipeline decodes `latents / scalingFactor`. */
  scalingFactor: number;
  /** Latents are `(z - shiftFactor) · scalingFactor` (SD3, Flux); 0 for SD 1.x/2.x. */
  shiftFactor: number;
  /** Whether `quant_conv` follows the encoder. */
  useQuantConv: boolean;
  usePostQuantConv: boolean;
  midBlockAddAttention: boolean;
  /** diffusers' `force_upcast`: the VAE overflows in fp16, so it runs in float32 (activations too). */
  forceUpcast: boolean;
}

/** Validates an `AutoencoderKL` config.json; unsupported blocks or activations raise `ModelConfigError`. */
export function parseAutoencoderKLConfig(json: unknown, fileName: string): AutoencoderKLConfig {
  const r = new ConfigReader(json, fileName);
  const blockOutChannels = r.intList('block_out_channels', [64]);
  const upBlockTypes = r.choiceList('up_block_types', ['UpDecoderBlock2D'], ['UpDecoderBlock2D']);
  if (upBlockTypes.length !== blockOutChannels.length) {
    r.fail('up_block_types', r.raw('up_block_types'), `${blockOutChannels.length} entries, one per block_out_channels entry`);
  }
  // Every published AutoencoderKL encodes with DownEncoderBlock2D; anything else fails here, not
  // later at the first img2img request after the decoder has loaded fine.
  const downBlockTypes = r.choiceList('down_block_types', ['DownEncoderBlock2D'], blockOutChannels.map(() => 'DownEncoderBlock2D' as const));
  if (downBlockTypes.length !== blockOutChannels.length) {
    r.fail('down_block_types', r.raw('down_block_types'), `${blockOutChannels.length} entries, one per block_out_channels entry`);
  }
  r.requireDefault('act_fn', ['silu']);
  r.requireDefault('latents_mean', [null]);
  r.requireDefault('latents_std', [null]);
  const config: AutoencoderKLConfig = {
    inChannels: r.int('in_channels', 3),
    latentChannels: r.int('latent_channels', 4),
    outChannels: r.int('out_channels', 3),
    blockOutChannels,
    layersPerBlock: r.int('layers_per_block', 1, { max: CONFIG_LIMITS.maxBlockRepeats }),
    normNumGroups: r.int('norm_num_groups', 32),
    scalingFactor: r.number('scaling_factor', DEFAULT_SCALING_FACTOR),
    shiftFactor: r.number('shift_factor', 0),
    useQuantConv: r.bool('use_quant_conv', true),
    usePostQuantConv: r.bool('use_post_quant_conv', true),
    midBlockAddAttention: r.bool('mid_block_add_attention', true),
    forceUpcast: r.bool('force_upcast', true),
  };
  blockOutChannels.forEach((c, i) => {
    if (c % config.normNumGroups !== 0) r.fail(`block_out_channels[${i}]`, c, `a multiple of norm_num_groups (${config.normNumGroups})`);
  });
  return config;
}
