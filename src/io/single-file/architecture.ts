import type { SafetensorsEntry } from '../safetensors-header.js';
import { safeSnippet } from '../snippet.js';
import { CheckpointFormatError } from './errors.js';

/**
 * The single-file layouts this library loads: SD 1.x (a CLIP ViT-L text encoder under its Hugging
 * Face names) and SD 2.x (an OpenCLIP ViT-H text tower, converted; see `openClipKeys`).
 */
export type CheckpointArchitecture = 'sd1' | 'sd2';

/** The diffusers repo whose configs, tokenizer and scheduler a checkpoint of each architecture uses when none is given. */
export const DEFAULT_CONFIG_REPOS: Record<CheckpointArchitecture, string> = {
  sd1: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
  // What diffusers' `from_single_file` assumes for SD 2.x: the 768 v-prediction model. Nothing in
  // the weights tells it from the 512 epsilon one (stabilityai/stable-diffusion-2-1-base): name that
  // repo as `configFrom`, whose scheduler config then says `epsilon`.
  sd2: 'stabilityai/stable-diffusion-2-1',
};

/** The key prefix of each component of an SD 1.x checkpoint; SD 2.x's text encoder is under `OPEN_CLIP_PREFIX`. */
export const LDM_PREFIXES = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  text_encoder: 'cond_stage_model.transformer.',
} as const;

/** SD 2.x's OpenCLIP text tower. */
export const OPEN_CLIP_PREFIX = 'cond_stage_model.model.';

/**
 * The architecture of an original-layout checkpoint, from its keys (the weights carry no config):
 * SD 1.x when the text encoder is `cond_stage_model.transformer.*` (Hugging Face CLIP names),
 * SD 2.x when it is `cond_stage_model.model.*` (OpenCLIP names). SDXL (`conditioner.embedders.*`)
 * fails with `CheckpointFormatError` (`unsupported_architecture`) naming what was found; a file
 * without a UNet or a known text encoder with `unknown_architecture`.
 */
export function inferArchitecture(file: string, entries: readonly SafetensorsEntry[]): CheckpointArchitecture {
  const has = (prefix: string): boolean => entries.some((e) => e.name.startsWith(prefix));
  if (has('conditioner.embedders.')) {
    throw new CheckpointFormatError(
      file,
      'unsupported_architecture',
      'this is an SDXL checkpoint (`conditioner.embedders.*` text encoders), which omni-diffusion does not load as a single file yet; load the diffusers repo of the model (e.g. stabilityai/stable-diffusion-xl-base-1.0), or convert the file with diffusers\' `StableDiffusionXLPipeline.from_single_file(...).save_pretrained(dir)`.',
    );
  }
  if (has(LDM_PREFIXES.unet) && has(LDM_PREFIXES.text_encoder)) return 'sd1';
  if (has(LDM_PREFIXES.unet) && has(OPEN_CLIP_PREFIX)) return 'sd2';
  const prefixes = [...new Set(entries.map((e) => e.name.split('.').slice(0, 2).join('.')))].slice(0, 5);
  throw new CheckpointFormatError(
    file,
    'unknown_architecture',
    `not an original-layout Stable Diffusion checkpoint: it lacks \`${LDM_PREFIXES.unet}*\` (the UNet) or a text encoder (\`${LDM_PREFIXES.text_encoder}*\` or \`${OPEN_CLIP_PREFIX}*\`); its keys start with ${prefixes.map((p) => `"${safeSnippet(p)}"`).join(', ') || 'nothing (no tensors)'}.`,
  );
}
