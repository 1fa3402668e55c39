import type { SafetensorsEntry } from '../safetensors-header.js';
import { safeSnippet } from '../snippet.js';
import { CheckpointFormatError } from './errors.js';

/**
 * The single-file layouts this library loads: SD 1.x (a CLIP ViT-L text encoder under its Hugging
 * Face names), SD 2.x (an OpenCLIP ViT-H text tower, converted; see `openClipKeys`) and SDXL
 * (SGM layout: both text encoders under `conditioner.embedders.*`).
 */
export type CheckpointArchitecture = 'sd1' | 'sd2' | 'sdxl';

/** The diffusers repo whose configs, tokenizer and scheduler a checkpoint of each architecture uses when none is given. */
export const DEFAULT_CONFIG_REPOS: Record<CheckpointArchitecture, string> = {
  sd1: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
  // What diffusers' `from_single_file` assumes for SD 2.x: the 768 v-prediction model. Nothing in
  // the weights tells it from the 512 epsilon one: name that repo as `configFrom`, or let the
  // file's `modelspec.prediction_type` metadata say `epsilon` (then `SD2_EPSILON_CONFIG_REPO`).
  sd2: 'stabilityai/stable-diffusion-2-1',
  sdxl: 'stabilityai/stable-diffusion-xl-base-1.0',
};

/** The default repo of an SD 2.x checkpoint whose metadata says it predicts noise: the 512 base model. */
export const SD2_EPSILON_CONFIG_REPO = 'stabilityai/stable-diffusion-2-1-base';

/** The key prefix of each component of an SD 1.x checkpoint; SD 2.x's text encoder is under `OPEN_CLIP_PREFIX`. */
export const LDM_PREFIXES = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  text_encoder: 'cond_stage_model.transformer.',
} as const;

/** SD 2.x's OpenCLIP text tower. */
export const OPEN_CLIP_PREFIX = 'cond_stage_model.model.';

/**
 * SDXL's text encoders (SGM layout): CLIP ViT-L under its Hugging Face names (`text_encoder/`),
 * and OpenCLIP ViT-bigG's text tower with its projection (`text_encoder_2/`).
 */
export const SDXL_TEXT_PREFIXES = {
  text_encoder: 'conditioner.embedders.0.transformer.',
  text_encoder_2: 'conditioner.embedders.1.model.',
} as const;

/**
 * The architecture of an original-layout checkpoint, from its keys (the weights carry no config):
 * SD 1.x when the text encoder is `cond_stage_model.transformer.*` (Hugging Face CLIP names),
 * SD 2.x when it is `cond_stage_model.model.*` (OpenCLIP names), SDXL when both
 * `conditioner.embedders.0.transformer.*` and `conditioner.embedders.1.model.*` are there. An SGM
 * file with other embedders (a refiner's lone OpenCLIP tower, say) fails with
 * `CheckpointFormatError` (`unsupported_architecture`) naming what is missing; a file without a
 * UNet or a known text encoder with `unknown_architecture`.
 */
export function inferArchitecture(file: string, entries: readonly SafetensorsEntry[]): CheckpointArchitecture {
  const has = (prefix: string): boolean => entries.some((e) => e.name.startsWith(prefix));
  if (has('conditioner.embedders.')) {
    const missing = Object.values(SDXL_TEXT_PREFIXES).filter((p) => !has(p));
    if (missing.length === 0 && has(LDM_PREFIXES.unet)) return 'sdxl';
    throw new CheckpointFormatError(
      file,
      'unsupported_architecture',
      `an SGM-layout checkpoint (\`conditioner.embedders.*\`) that is not SDXL base: it lacks ${[...(has(LDM_PREFIXES.unet) ? [] : [LDM_PREFIXES.unet]), ...missing].map((p) => `\`${p}*\``).join(' and ')}. omni-diffusion loads SDXL single files with both text encoders (CLIP ViT-L at \`${SDXL_TEXT_PREFIXES.text_encoder}*\`, OpenCLIP ViT-bigG at \`${SDXL_TEXT_PREFIXES.text_encoder_2}*\`); load the diffusers repo of this model instead.`,
    );
  }
  if (has(LDM_PREFIXES.unet) && has(LDM_PREFIXES.text_encoder)) return 'sd1';
  if (has(LDM_PREFIXES.unet) && has(OPEN_CLIP_PREFIX)) return 'sd2';
  const prefixes = [...new Set(entries.map((e) => e.name.split('.').slice(0, 2).join('.')))].slice(0, 5);
  throw new CheckpointFormatError(
    file,
    'unknown_architecture',
    `not an original-layout Stable Diffusion checkpoint: it lacks \`${LDM_PREFIXES.unet}*\` (the UNet) or a text encoder (\`${LDM_PREFIXES.text_encoder}*\`, \`${OPEN_CLIP_PREFIX}*\` or SDXL's \`conditioner.embedders.*\`); its keys start with ${prefixes.map((p) => `"${safeSnippet(p)}"`).join(', ') || 'nothing (no tensors)'}.`,
  );
}
