import type { GpuTensor } from '../gpu/tensor.js';
import type { TensorDType } from '../kernels/ops.js';
import { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import { parseAutoencoderTinyConfig } from '../models/taesd/config.js';
import { AutoencoderKLDecoder } from '../models/vae/autoencoder-kl-decoder.js';
import { AutoencoderKLEncoder } from '../models/vae/autoencoder-kl-encoder.js';
import { parseAutoencoderKLConfig } from '../models/vae/config.js';
import type { AttentionAuditOps } from './attention-audit.js';
import type { SyntheticStateDict } from './synthetic-weights.js';

/** A VAE decoder a config describes, its image-to-latent size factor, and its encoder when one runs. */
export interface DecoderPlan {
  /** `AutoencoderKL` or `AutoencoderTiny` (TAESD). */
  readonly kind: 'kl' | 'tiny';
  readonly latentChannels: number;
  readonly scaleFactor: number;
  load(ops: AttentionAuditOps, dict: SyntheticStateDict, options: { dtype: TensorDType }): { decode(latents: GpuTensor): GpuTensor; release(): void };
  readonly encoder: EncoderPlan | null;
}

export interface EncoderPlan {
  readonly inChannels: number;
  load(ops: AttentionAuditOps, dict: SyntheticStateDict, options: { dtype: TensorDType }): { encode(image: GpuTensor): GpuTensor; release(): void };
}

/** The decoder (and encoder) a `vae/config.json` describes: an `AutoencoderKL`, or by its `_class_name` an `AutoencoderTiny`. */
export function parseDecoder(json: unknown, file: string): DecoderPlan {
  const className = json !== null && typeof json === 'object' ? (json as Record<string, unknown>)['_class_name'] : undefined;
  if (className === 'AutoencoderTiny') {
    const c = parseAutoencoderTinyConfig(json, file);
    return {
      kind: 'tiny',
      latentChannels: c.latentChannels,
      scaleFactor: 2 ** (c.decoderBlockOutChannels.length - 1),
      load: (ops, dict, o) => AutoencoderTinyDecoder.load(ops, c, dict, o),
      encoder: null,
    };
  }
  const c = parseAutoencoderKLConfig(json, file);
  return {
    kind: 'kl',
    latentChannels: c.latentChannels,
    scaleFactor: 2 ** (c.blockOutChannels.length - 1),
    load: (ops, dict, o) => AutoencoderKLDecoder.load(ops, c, dict, o),
    encoder: { inChannels: c.inChannels, load: (ops, dict, o) => AutoencoderKLEncoder.load(ops, c, dict, o) },
  };
}
