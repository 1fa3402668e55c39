import { CONFIG_LIMITS, ConfigReader } from '../config-reader.js';

export const DOWN_BLOCK_TYPES = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['CrossAttnUpBlock2D', 'UpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];

/**
 * Most transformer blocks one `attentions.{k}` may stack (`transformer_layers_per_block`):
 * SDXL's deepest level has 10, the most of any published UNet.
 */
export const MAX_TRANSFORMER_LAYERS_PER_BLOCK = 10;

/** The `time_ids` each batch row of a `text_time` UNet takes: original size, crop top-left, target size. */
export const TIME_IDS_PER_ROW = 6;

/**
 * SDXL's added conditioning (`addition_embed_type: "text_time"`): the pooled text embedding and
 * the six micro-conditioning `time_ids`, each embedded sinusoidally, go through `add_embedding`.
 */
export interface AdditionEmbedConfig {
  /** `addition_time_embed_dim`: width of each time id's sinusoidal embedding. */
  timeEmbedDim: number;
  /** Width of `text_embeds`: `projection_class_embeddings_input_dim` − 6 × `timeEmbedDim`. */
  pooledDim: number;
}

/** `sample_size` when a config leaves it out: SD 1.x's, SD 2.x-base's and SD-Turbo's 64 latent pixels (512 px). */
export const DEFAULT_SAMPLE_SIZE = 64;

/** The fields of a diffusers `UNet2DConditionModel` config that shape the math, validated. */
export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  /** Channels of each down block (`block_out_channels`); up blocks use them reversed. */
  blockOutChannels: number[];
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  layersPerBlock: number;
  normNumGroups: number;
  normEps: number;
  crossAttentionDim: number;
  /**
   * Attention head count of each down block's transformers: `num_attention_heads`, or when that
   * is null, `attention_head_dim` (which, despite its name, holds head counts). Up block i uses
   * entry `n-1-i`; the mid block uses the last.
   */
  headsPerBlock: number[];
  /**
   * Transformer blocks in each attention of down block i (`transformer_layers_per_block`); up
   * block i uses entry `n-1-i`, the mid block the last.
   */
  transformerLayersPerBlock: number[];
  /** SD 2.x: `proj_in`/`proj_out` are Linear layers rather than 1x1 convs. */
  useLinearProjection: boolean;
  /**
   * Attention scores and softmax in float32 even when activations are float16. Every `TensorOps`
   * backend here computes attention in float32, so the flag holds by construction; it is kept
   * for backends that would not.
   */
  upcastAttention: boolean;
  flipSinToCos: boolean;
  freqShift: number;
  /** Width of `timestep_cond` (an LCM's guidance embedding), or null when the model takes none. */
  timeCondProjDim: number | null;
  /** SDXL's `text_time` added embedding, or null when the model takes none. */
  additionEmbed: AdditionEmbedConfig | null;
  /** Nominal latent size; inputs may have other sizes. */
  sampleSize: number;
}

/**
 * Validates a `UNet2DConditionModel` config.json. Fields this library does not implement (3-D
 * blocks, class embeddings, addition embeddings other than SDXL's `text_time`, …) are rejected
 * with a `ModelConfigError` naming `fileName` and the field, rather than silently ignored.
 */
export function parseUNetConfig(json: unknown, fileName: string): UNetConfig {
  const r = new ConfigReader(json, fileName);
  const blockOutChannels = r.intList('block_out_channels');
  const n = blockOutChannels.length;
  const downBlockTypes = r.choiceList('down_block_types', DOWN_BLOCK_TYPES);
  const upBlockTypes = r.choiceList('up_block_types', UP_BLOCK_TYPES);
  if (downBlockTypes.length !== n) r.fail('down_block_types', r.raw('down_block_types'), `${n} entries, one per block_out_channels entry`);
  if (upBlockTypes.length !== n) r.fail('up_block_types', r.raw('up_block_types'), `${n} entries, one per block_out_channels entry`);

  r.requireDefault('mid_block_type', ['UNetMidBlock2DCrossAttn']);
  r.requireDefault('act_fn', ['silu']);
  r.requireDefault('time_embedding_type', ['positional']);
  r.requireDefault('time_embedding_dim', [null]);
  r.requireDefault('time_embedding_act_fn', [null]);
  r.requireDefault('timestep_post_act', [null]);
  r.requireDefault('class_embed_type', [null]);
  r.requireDefault('num_class_embeds', [null]);
  r.requireDefault('encoder_hid_dim', [null]);
  r.requireDefault('encoder_hid_dim_type', [null]);
  r.requireDefault('resnet_time_scale_shift', ['default']);
  r.requireDefault('resnet_skip_time_act', [false]);
  r.requireDefault('resnet_out_scale_factor', [1]);
  r.requireDefault('mid_block_scale_factor', [1]);
  r.requireDefault('center_input_sample', [false]);
  r.requireDefault('dual_cross_attention', [false]);
  r.requireDefault('only_cross_attention', [false]);
  r.requireDefault('mid_block_only_cross_attention', [null, false]);
  r.requireDefault('cross_attention_norm', [null]);
  r.requireDefault('attention_type', ['default']);
  r.requireDefault('conv_in_kernel', [3]);
  r.requireDefault('conv_out_kernel', [3]);
  r.requireDefault('downsample_padding', [1]);
  r.requireDefault('reverse_transformer_layers_per_block', [null]);

  const headsField = r.raw('num_attention_heads') != null ? 'num_attention_heads' : 'attention_head_dim';
  const config: UNetConfig = {
    inChannels: r.int('in_channels', 4),
    outChannels: r.int('out_channels', 4),
    blockOutChannels,
    downBlockTypes,
    upBlockTypes,
    layersPerBlock: r.int('layers_per_block', 2, { max: CONFIG_LIMITS.maxBlockRepeats }),
    normNumGroups: r.int('norm_num_groups', 32),
    normEps: r.number('norm_eps', 1e-5),
    crossAttentionDim: r.int('cross_attention_dim', 1280),
    headsPerBlock: r.intPerBlock(headsField, n, 8, { max: CONFIG_LIMITS.maxHeads }),
    transformerLayersPerBlock: r.intPerBlock('transformer_layers_per_block', n, 1, { max: MAX_TRANSFORMER_LAYERS_PER_BLOCK }),
    useLinearProjection: r.bool('use_linear_projection', false),
    upcastAttention: r.bool('upcast_attention', false),
    flipSinToCos: r.bool('flip_sin_to_cos', true),
    freqShift: r.int('freq_shift', 0, { min: 0 }),
    // LCM's guidance embedding is sin/cos over dim // 2 frequencies spaced by 1/(dim // 2 − 1): at least 4.
    timeCondProjDim: r.intOrNull('time_cond_proj_dim', { min: 4 }),
    additionEmbed: parseAdditionEmbed(r),
    sampleSize: r.int('sample_size', DEFAULT_SAMPLE_SIZE, { max: CONFIG_LIMITS.maxSampleSize }),
  };
  blockOutChannels.forEach((c, i) => {
    if (c % config.normNumGroups !== 0) r.fail(`block_out_channels[${i}]`, c, `a multiple of norm_num_groups (${config.normNumGroups})`);
    if (c % config.headsPerBlock[i]! !== 0) r.fail(`${headsField}[${i}]`, config.headsPerBlock[i], `a head count dividing block_out_channels[${i}] (${c})`);
  });
  if (blockOutChannels[0]! % 2 !== 0) r.fail('block_out_channels[0]', blockOutChannels[0], 'an even width (the sinusoidal time embedding has sin and cos halves)');
  return config;
}

/**
 * `addition_embed_type`: null, or SDXL's `"text_time"` with its widths. diffusers' other kinds
 * (`text`, `text_image`, `image`, `image_hint`) are refused.
 */
function parseAdditionEmbed(r: ConfigReader): AdditionEmbedConfig | null {
  const type = r.raw('addition_embed_type');
  if (type === undefined || type === null) return null;
  if (type !== 'text_time') r.fail('addition_embed_type', type, 'null or "text_time"');
  // The sinusoidal embedding needs a sin and a cos column at least.
  const timeEmbedDim = r.int('addition_time_embed_dim', undefined, { min: 2 });
  const inputDim = r.int('projection_class_embeddings_input_dim');
  const pooledDim = inputDim - TIME_IDS_PER_ROW * timeEmbedDim;
  if (pooledDim <= 0) {
    r.fail('projection_class_embeddings_input_dim', inputDim, `more than ${TIME_IDS_PER_ROW} × addition_time_embed_dim (${TIME_IDS_PER_ROW * timeEmbedDim}): the rest is the pooled text_embeds width`);
  }
  return { timeEmbedDim, pooledDim };
}
