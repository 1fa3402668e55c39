import type { DiffusionConfig } from '../../api/config.js';
import { ConfigValidationError, ExecutorUnavailableError } from '../../api/errors.js';
import type { ModelSpec } from '../../host/protocol.js';
import { oneOf, optionalBoolean, optionalString } from '../options.js';

/**
 * Options of the `webgpu` executor (also read by `multiproc`, and `external` but `worker`),
 * given as fields of the engine config: `{ executorClass: 'webgpu', variant: 'fp16', preview: true }`.
 */
export interface WebGPUExecutorOptions {
  /** Hub weights variant, e.g. `'fp16'`. */
  variant?: string | null;
  /**
   * A TAESD repo (diffusers `AutoencoderTiny` layout), for `decoder: 'taesd'` and previews; or
   * `'auto'`: `madebyollin/taesdxl` for SDXL models, `madebyollin/taesd` for the others.
   */
  taesd?: string | null;
  /**
   * A VAE used instead of the model's own `vae/` (diffusers' `vae=`): the Hub id, URL or folder
   * of a diffusers `AutoencoderKL` (or `AutoencoderTiny`) with `config.json` and its weights at
   * the root, e.g. `'madebyollin/sdxl-vae-fp16-fix'`.
   */
  vae?: string | null;
  /**
   * Where the engine host runs. Absent: a Web Worker in the browser, in-process in Node; `true`:
   * a Web Worker, or a `worker_threads` thread in Node; `false`: in-process everywhere.
   */
  worker?: boolean;
  /** A preview image with each progress event (a small readback per step). */
  preview?: boolean;
  /** `'adapter'` (the default) asks for the adapter's larger size limits; `'default'` keeps WebGPU's. */
  gpuLimits?: 'adapter' | 'default';
  /** How the text encoder and UNet store activations: `'auto'` (the default), `'f32'` or `'f16'`. */
  activations?: 'auto' | 'f32' | 'f16';
  /**
   * Names for AUTOMATIC1111's `<lora:name:multiplier>` prompt tags: name → URL, file path or Hub
   * path (`owner/repo/file.safetensors`) of the LoRA. A tag is taken out of the prompt and the
   * LoRA applied to that request.
   */
  loraNames?: Record<string, string>;
}

/** The config fields the webgpu executor reads beyond `DiffusionConfig`'s own. */
export const WEBGPU_OPTION_KEYS: readonly (keyof WebGPUExecutorOptions)[] = ['variant', 'taesd', 'vae', 'worker', 'preview', 'gpuLimits', 'activations', 'loraNames'];

/** The webgpu options of `config`, validated: a wrong type is a `ConfigValidationError` naming the field. */
export function readWebGPUOptions(config: DiffusionConfig): Required<Omit<WebGPUExecutorOptions, 'worker'>> & Pick<WebGPUExecutorOptions, 'worker'> {
  const c = config as unknown as Record<string, unknown>;
  const worker = optionalBoolean('worker', c.worker, 'true (a Web Worker; a worker_threads thread in Node) or false (in-process)');
  return {
    variant: optionalString('variant', c.variant, "a Hub weights variant such as 'fp16'"),
    taesd: optionalString('taesd', c.taesd, "a TAESD repo (Hub id, URL or folder) or 'auto'"),
    vae: optionalString('vae', c.vae, 'a VAE repo (diffusers AutoencoderKL, config.json and weights at its root): Hub id, URL or folder'),
    ...(worker === undefined ? {} : { worker }),
    preview: optionalBoolean('preview', c.preview) ?? false,
    gpuLimits: oneOf('gpuLimits', c.gpuLimits, ['adapter', 'default'] as const, 'adapter'),
    activations: oneOf('activations', c.activations, ['auto', 'f32', 'f16'] as const, 'auto'),
    loraNames: loraNames(c.loraNames),
  };
}

/** `loraNames`, checked: an object of LoRA sources (non-empty strings) by tag name. */
function loraNames(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const expected = "an object of LoRA files by name, like { detail: 'owner/repo/detail.safetensors' }";
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigValidationError('loraNames', value, expected);
  for (const [name, source] of Object.entries(value)) {
    if (typeof source !== 'string' || source === '' || name === '' || /[:>]/.test(name)) throw new ConfigValidationError(`loraNames.${name}`, source, `${expected}; names without ':' or '>'`);
  }
  return { ...(value as Record<string, string>) };
}

/**
 * The model fields of the engine config, as an engine host loads them. `executor` names the
 * executor in the error a config without a model gets.
 */
export function modelSpecOf(config: DiffusionConfig, executor: string): ModelSpec {
  if (!config.modelNameOrPath) throw new ExecutorUnavailableError(`The ${executor} executor needs DiffusionConfig.modelNameOrPath (a Hub id, URL or local folder).`);
  const model = config.modelNameOrPath;
  const { variant, taesd, vae, gpuLimits, activations, loraNames: names } = readWebGPUOptions(config);
  return {
    ...(typeof model === 'string' ? { modelNameOrPath: model } : { modelNameOrPath: model.id, source: model }),
    dtype: config.dtype,
    configFrom: config.configFrom,
    variant,
    taesd,
    vae,
    gpuLimits,
    activations,
    loraNames: names,
    ...(config.embeddings?.length ? { embeddings: config.embeddings } : {}),
  };
}
