import { unquantizableReason, type QuantScheme } from './scheme.js';

/** Which weights of a model are stored quantized, and how. */
export interface QuantPolicy {
  readonly scheme: QuantScheme;
  /** Whether the weight under `key` (a checkpoint or model key) of `shape` is quantized. */
  select(key: string, shape: readonly number[]): boolean;
  /**
   * Why a weight the policy would quantize stays f16 instead (the scheme cannot pack its rows),
   * or null: the documented fallback, which loaders log once per checkpoint.
   */
  fallback(key: string, shape: readonly number[]): string | null;
}

/**
 * Modules that stay f16: the first and last convs (a few channels, where every error lands in the
 * image or the latents directly), embeddings (gathered, not multiplied), the time and class
 * embeddings' small MLPs, and the VAE's latent 1×1 convs. What is left are the bulk of the bytes
 * and of the multiply-adds: attention projections, feed-forwards, resnet convs and shortcuts,
 * the transformers' proj_in/proj_out, up/down samplers, and the text encoders' attention and MLP.
 */
const KEEP = /(^|\.)(conv_in|conv_out|embeddings|token_embedding|position_embedding|time_embedding|add_embedding|class_embedding|quant_conv|post_quant_conv|text_projection)(\.|$)/;

/**
 * The policy omni-diffusion quantizes with: every Linear or Conv2d weight (rank 2, or rank 4
 * with a 1×1 or 3×3 kernel) outside `KEEP` whose rows the scheme can pack (see
 * `unquantizableReason`); the rest stays as the model's other weights (f16).
 */
export function defaultQuantPolicy(scheme: QuantScheme): QuantPolicy {
  const candidate = (key: string, shape: readonly number[]): boolean =>
    key.endsWith('.weight') && (shape.length === 2 || (shape.length === 4 && shape[2] === shape[3] && (shape[2] === 1 || shape[2] === 3))) && !KEEP.test(key);
  return {
    scheme,
    select: (key, shape) => candidate(key, shape) && unquantizableReason(shape, scheme) === null,
    fallback: (key, shape) => (candidate(key, shape) ? unquantizableReason(shape, scheme) : null),
  };
}

/** The quantized `dtype`s a model can be loaded as, and their schemes. */
export const QUANTIZED_DTYPES = {
  /** 8 bits, one scale per 128 values of a row. */
  int8: { bits: 8, groupSize: 128 },
  /** 4 bits, one scale per 32 values of a row. */
  int4: { bits: 4, groupSize: 32 },
} as const satisfies Record<string, QuantScheme>;

export type QuantizedDType = keyof typeof QUANTIZED_DTYPES;
