import type { JsonObject } from '../io/diffusers-repo.js';
import { DiffusersRepoError } from '../io/errors.js';
import type { UNetConfig } from '../models/unet/config.js';

/** What a request falls back to for the fields it leaves out, from the model's configs; the same on every executor. */
export interface ModelDefaults {
  steps: number;
  guidanceScale: number;
  height: number;
  width: number;
  /** The scheduler class of `scheduler/scheduler_config.json`. */
  scheduler: string;
}

/**
 * The `model_index.json` key where a model states the sampling settings it was made for, in
 * diffusers' call-argument names: `{"num_inference_steps": 20, "guidance_scale": 1.5}`.
 * diffusers skips keys that start with `_`, so the file stays loadable there. Hub models carry
 * no such key; their defaults are inferred from the scheduler and UNet configs.
 */
export const MODEL_DEFAULTS_KEY = '_omni_diffusion_defaults';

/** SDXL-Turbo's image side (its model card: 512x512; the UNet config's `sample_size` says 1024 px). */
const SDXL_TURBO_SIZE = 512;

/**
 * The defaults a request falls back to: the model's own (`MODEL_DEFAULTS_KEY`) where it states
 * them, else those of its family: SD-Turbo (trailing timesteps) 1 step without guidance, LCM
 * 4 steps at guidance 8, other Stable Diffusion models 25 steps at 7.5. The image size is the
 * UNet's sample size times the decoder's upscale (`vaeScale`, 1 without a VAE), except for
 * SDXL-Turbo (an SDXL UNet with trailing timesteps), which is trained and run at 512², not at
 * its UNet's 1024².
 */
export function pipelineDefaults(
  modelIndex: JsonObject | null,
  unetConfig: Pick<UNetConfig, 'sampleSize' | 'timeCondProjDim' | 'additionEmbed'>,
  schedulerConfig: JsonObject,
  vaeScale: number,
  sourceId: string,
): ModelDefaults {
  const sampling = samplingDefaults(modelIndex, schedulerConfig, unetConfig.timeCondProjDim !== null, sourceId);
  const sdxlTurbo = unetConfig.additionEmbed !== null && schedulerConfig.timestep_spacing === 'trailing';
  const sample = sdxlTurbo ? SDXL_TURBO_SIZE : unetConfig.sampleSize * vaeScale;
  return {
    ...sampling,
    height: sample,
    width: sample,
    scheduler: typeof schedulerConfig._class_name === 'string' ? schedulerConfig._class_name : 'PNDMScheduler',
  };
}

/**
 * Steps and guidance a request falls back to, as `pipelineDefaults` picks them; `guidanceEmbedded`:
 * the UNet takes LCM's guidance embedding (`time_cond_proj_dim`). Shared by every executor that
 * reads a model's files, so one model gets the same defaults on each.
 */
export function samplingDefaults(modelIndex: JsonObject | null, schedulerConfig: JsonObject, guidanceEmbedded: boolean, sourceId: string): { steps: number; guidanceScale: number } {
  const turbo = schedulerConfig.timestep_spacing === 'trailing';
  const lcm = guidanceEmbedded || schedulerConfig._class_name === 'LCMScheduler';
  const stated = modelIndex ? statedDefaults(modelIndex, sourceId) : {};
  return {
    steps: stated.steps ?? (turbo ? 1 : lcm ? 4 : 25),
    guidanceScale: stated.guidanceScale ?? (turbo ? 0 : lcm ? 8 : 7.5),
  };
}

function statedDefaults(modelIndex: JsonObject, sourceId: string): { steps?: number; guidanceScale?: number } {
  const entry = modelIndex[MODEL_DEFAULTS_KEY];
  if (entry === undefined) return {};
  const where = `${sourceId}/model_index.json "${MODEL_DEFAULTS_KEY}"`;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new DiffusersRepoError('model_index.json', `${where} must be an object like {"num_inference_steps": 20, "guidance_scale": 7.5}.`);
  }
  const steps = entry.num_inference_steps;
  const guidance = entry.guidance_scale;
  if (steps !== undefined && (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1)) {
    throw new DiffusersRepoError('model_index.json', `${where}.num_inference_steps must be a positive integer, not ${JSON.stringify(steps)}.`);
  }
  if (guidance !== undefined && (typeof guidance !== 'number' || !Number.isFinite(guidance) || guidance < 0)) {
    throw new DiffusersRepoError('model_index.json', `${where}.guidance_scale must be a non-negative number, not ${JSON.stringify(guidance)}.`);
  }
  return { ...(steps === undefined ? {} : { steps }), ...(guidance === undefined ? {} : { guidanceScale: guidance }) };
}
