import type { QuantPolicy } from './policy.js';

/** The checkpoint folders of a diffusers repo whose weights a pipeline may load quantized. */
export type QuantizedCheckpoint = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae';

/**
 * A quantization policy per checkpoint folder, for a model whose components are quantized
 * differently (a pre-quantized repo: each component's `quantization_config`). A folder named
 * here uses its own policy (null: nothing quantized) instead of the model-wide one.
 */
export type CheckpointQuantPolicies = Readonly<Partial<Record<QuantizedCheckpoint, QuantPolicy | null>>>;

/**
 * The checkpoint folder a component reads: `text_encoder`, `text_encoder_2` (SDXL), `unet`, and `vae` for the VAE's
 * decoder and encoder (`vae_decoder`, `vae_encoder`, or the checkpoint name `vae`); null for
 * TAESD, which comes from a repo of its own.
 */
export function checkpointOf(component: string): QuantizedCheckpoint | null {
  if (component === 'text_encoder' || component === 'text_encoder_2' || component === 'unet') return component;
  if (component === 'vae' || component === 'vae_decoder' || component === 'vae_encoder') return 'vae';
  return null;
}

/** The policy `component` is loaded with: its folder's in `byCheckpoint` when named there, else `all`. */
export function componentPolicy(component: string, all: QuantPolicy | null, byCheckpoint: CheckpointQuantPolicies = {}): QuantPolicy | null {
  const folder = checkpointOf(component);
  return folder !== null && Object.hasOwn(byCheckpoint, folder) ? (byCheckpoint[folder] ?? null) : all;
}
