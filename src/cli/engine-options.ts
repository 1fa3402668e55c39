import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { DiffusionConfigOptions, DTypeOption } from '../api/config.js';
import { ModelFileNotFoundError } from '../io/errors.js';
import { isCheckpointFileName } from '../io/single-file/pickle-guard.js';
import { CliUsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { choiceOption, stringOption, urlOption } from './option-values.js';
import { bundledModelPath } from './package-root.js';

/** Executors the CLI offers. */
export const CLI_EXECUTORS = ['webgpu', 'http', 'onnx'] as const;
export type CliExecutor = (typeof CLI_EXECUTORS)[number];

const DTYPES: readonly DTypeOption[] = ['auto', 'f16', 'f32', 'int8', 'int4'];

/** The options of `generate` and `serve` that choose the model and where it runs. */
export const ENGINE_OPTIONS: OptionSpec[] = [
  { name: 'model', type: 'string', description: 'Hub id, URL or folder of a diffusers model (default: the bundled tiny-shapes model)' },
  { name: 'executor', type: 'string', description: 'webgpu (default), http or onnx' },
  { name: 'url', type: 'string', description: 'server root for --executor http; with webgpu, the fallback when there is no WebGPU' },
  { name: 'dtype', type: 'string', description: 'weights and activations: auto (default: f16 where the GPU has it), f16 or f32' },
  { name: 'variant', type: 'string', description: 'Hub weights variant, e.g. fp16 (half-size downloads)' },
  { name: 'vae', type: 'string', description: "Hub id, URL or folder of a VAE used instead of the model's (config.json and weights at its root), e.g. madebyollin/sdxl-vae-fp16-fix" },
  {
    name: 'config-from',
    type: 'string',
    description: 'with a single-file --model (an original-layout .safetensors): Hub id, URL or folder of the diffusers repo with its configs (default: stable-diffusion-v1-5/stable-diffusion-v1-5 for SD 1.x, stabilityai/stable-diffusion-2-1 for SD 2.x)',
  },
];

/** The engine settings of a command line, checked but not yet acted on (no file or network access). */
export interface EngineChoice {
  executor: CliExecutor;
  /** `--model` as given; null for the bundled model. */
  model: string | null;
  url: string | null;
  dtype: DTypeOption;
  variant: string | null;
  /** `--vae` as given: a VAE repo used instead of the model's `vae/`; absent for the model's own. */
  vae?: string;
  /** `--config-from` as given: the config repo of a single-file `--model`. */
  configFrom?: string;
}

/** Reads and checks `ENGINE_OPTIONS`; mistakes are `CliUsageError`s naming the option. */
export function engineChoiceFrom(args: ParsedArgs): EngineChoice {
  const executor = choiceOption(args, 'executor', CLI_EXECUTORS) ?? 'webgpu';
  const url = urlOption(args, 'url') ?? null;
  if (executor === 'http' && url === null) throw new CliUsageError('option --executor http needs --url <server root>, e.g. --url http://127.0.0.1:8000');
  if (executor === 'onnx' && url !== null) throw new CliUsageError('option --url works with --executor http or webgpu (as its fallback), not onnx');
  const vae = stringOption(args, 'vae') ?? null;
  if (vae !== null && executor !== 'webgpu') throw new CliUsageError(`option --vae works with --executor webgpu, not ${executor}`);
  const configFrom = stringOption(args, 'config-from') ?? null;
  if (configFrom !== null && executor !== 'webgpu') throw new CliUsageError(`option --config-from works with --executor webgpu, not ${executor}`);
  return {
    executor,
    model: stringOption(args, 'model') ?? null,
    url,
    dtype: choiceOption(args, 'dtype', DTYPES) ?? 'auto',
    variant: stringOption(args, 'variant') ?? null,
    ...(vae === null ? {} : { vae }),
    ...(configFrom === null ? {} : { configFrom }),
  };
}

/**
 * The engine config of a choice. A `--model` (or `--vae`) that names a local folder (a path, or a name that
 * exists here) must exist: a missing one is a `ModelFileNotFoundError` naming the folder,
 * raised before any GPU or network work. Other names go to the Hub or their URL as given.
 * With `--executor http` the model is only named to the server when `--model` was given.
 */
export async function engineConfigOf(choice: EngineChoice): Promise<DiffusionConfigOptions> {
  const common: DiffusionConfigOptions = { dtype: choice.dtype, ...(choice.variant === null ? {} : { variant: choice.variant }) };
  if (choice.executor === 'http') {
    return { ...common, executorClass: 'http', numGpus: 0, http: { baseUrl: choice.url! }, ...(choice.model === null ? {} : { modelNameOrPath: choice.model }) };
  }
  const modelNameOrPath = choice.model === null ? bundledModelPath() : await localOrRemote(choice.model, 'model');
  if (choice.executor === 'onnx') return { ...common, executorClass: 'onnx', modelNameOrPath };
  return {
    ...common,
    executorClass: 'webgpu',
    modelNameOrPath,
    ...(choice.vae === undefined ? {} : { vae: await localOrRemote(choice.vae, 'vae') }),
    ...(choice.configFrom === undefined ? {} : { configFrom: await localOrRemote(choice.configFrom, 'model') }),
    ...(choice.url === null ? {} : { fallback: 'http', http: { baseUrl: choice.url } }),
  };
}

/** A label for logs: the model as the user named it, or the bundled one. */
export function modelLabel(choice: EngineChoice): string {
  if (choice.model !== null) return choice.model;
  return choice.executor === 'http' ? "the server's model" : `tiny-shapes (bundled, ${bundledModelPath()})`;
}

/** A local folder as an absolute path (checked to exist), or a URL or Hub id as given; `option` names it in errors. */
async function localOrRemote(model: string, option: 'model' | 'vae'): Promise<string> {
  if (/^https?:\/\//i.test(model)) return model;
  const looksLikePath = /^(?:\/|\.{1,2}[\\/]|~[\\/]|[A-Za-z]:[\\/]|file:\/\/)/i.test(model);
  const path = model.startsWith('file://') ? decodeURIComponent(new URL(model).pathname) : resolve(model.startsWith('~') ? homedir() + model.slice(1) : model);
  const kind = await stat(path).then(
    (s) => (s.isDirectory() ? 'folder' : 'file'),
    () => 'missing',
  );
  if (kind === 'folder') return path;
  // A single-file checkpoint (`.safetensors`; pickles are refused by name when the engine opens it).
  if (option === 'model' && kind === 'file' && isCheckpointFileName(path)) return path;
  if (looksLikePath || kind === 'file') {
    const what = kind === 'file' ? 'is a file, not a folder' : 'does not exist';
    const example = option === 'vae' ? 'a VAE folder (config.json and weights at its root), a Hub id like madebyollin/sdxl-vae-fp16-fix' : 'a diffusers model folder, a Hub id like stabilityai/sd-turbo';
    throw new ModelFileNotFoundError('', path, `${option === 'vae' ? 'VAE' : 'Model'} folder ${path} ${what} (--${option} ${model}). Give ${example}, or a URL.`);
  }
  return model;
}
