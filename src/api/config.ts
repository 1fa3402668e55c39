import { ConfigValidationError } from './errors.js';
import { DTYPE_OPTIONS, type DTypeOption } from './dtype.js';
import { readHttpOptions, type HTTPExecutorOptions } from '../executors/http/options.js';
import { warnUnknownKeys } from '../executors/options.js';
import { configKeysOf } from '../executors/registry.js';
import { checkExecutorSpec, type ExecutorSpec } from '../executors/spec.js';
import { isModelSource, type ModelSource } from '../io/sources/model-source.js';
import { readEmbeddingsConfig, type EmbeddingConfig } from './embeddings.js';

export type { HTTPApiKind, HTTPExecutorOptions } from '../executors/http/options.js';

export type { DTypeOption } from './dtype.js';

/** Options of `new DiffusionConfig(...)`. Unknown keys are kept on the config for custom executors. */
export interface DiffusionConfigOptions {
  /**
   * @deprecated Ignored: the pipeline follows the model (its `model_index.json`), and Stable
   * Diffusion is the one there is. Still accepted (a string) so existing configs keep working.
   */
  modelClassName?: string;
  /**
   * Hub id (`stabilityai/sd-turbo`), URL, or local folder; or a `ModelSource` object (e.g. a
   * `BlobSource`, or a `RecipeSource` of synthetic weights), which executors that load the model in
   * this thread (`webgpu` in Node or with `worker: false`, `onnx`) read as it is, uncached.
   */
  modelNameOrPath?: string | ModelSource;
  /**
   * For a single-file checkpoint (a `modelNameOrPath` ending in `.safetensors`: an original
   * LDM/CompVis-layout SD 1.x or 2.x file, or an SGM-layout SDXL one, by path, URL or Hub file
   * `owner/name/file.safetensors`): the diffusers repo (Hub id, URL or folder) whose
   * `model_index.json`, component configs, tokenizer and scheduler go with its weights, which
   * carry none. Left out: the published repo of the architecture the file's keys show
   * (`stable-diffusion-v1-5/stable-diffusion-v1-5` for SD 1.x, `stabilityai/stable-diffusion-2-1`
   * for SD 2.x, `stabilityai/stable-diffusion-xl-base-1.0` for SDXL). Whether the model predicts
   * noise or v is this repo's scheduler config's `prediction_type`: for a 512 epsilon SD 2.x
   * model, name `stabilityai/stable-diffusion-2-1-base`.
   */
  configFrom?: string | null;
  /**
   * Engine hosts of the `multiproc` executor, each with its own GPU device and copy of the model
   * (devices may share one physical GPU); other executors run one host, or none (remote ones).
   * Default 1.
   */
  numHosts?: number;
  /** @deprecated Use `numHosts`: it counts engine hosts, which need not be distinct GPUs. */
  numGpus?: number;
  /** Shorthand, `"module#Export"` specifier, or executor class. Left out: `webgpu`. */
  executorClass?: ExecutorSpec;
  dtype?: DTypeOption;
  /** Executors to try, in order, when the primary one throws `ExecutorUnavailableError` at init. */
  fallback?: ExecutorSpec | ExecutorSpec[];
  http?: HTTPExecutorOptions;
  /**
   * Textual-inversion embeddings loaded with the model (`webgpu` executor; SD 1.x, 2.x and SDXL):
   * each file's token, in a prompt or negative prompt, stands for its learned vectors.
   */
  embeddings?: EmbeddingConfig[];
  [custom: string]: unknown;
}

const KNOWN_KEYS = ['modelClassName', 'modelNameOrPath', 'configFrom', 'numHosts', 'numGpus', 'executorClass', 'dtype', 'fallback', 'http', 'embeddings'];

/**
 * Engine configuration, validated synchronously.
 *
 * Custom fields are kept and reach the executor as `this.config.<field>`. To give them
 * defaults in a subclass, pass the defaults through `super()` and declare the fields with
 * `declare` (a plain class-field initialiser runs *after* `super()` and would overwrite the
 * values the caller passed):
 *
 * ```ts
 * class MyConfig extends DiffusionConfig {
 *   declare remoteUrl: string;
 *   constructor(o: DiffusionConfigOptions = {}) {
 *     super({ remoteUrl: 'http://localhost:8000', timeout: 300, ...o });
 *   }
 * }
 * ```
 */
export class DiffusionConfig {
  /** @deprecated Ignored (see `DiffusionConfigOptions.modelClassName`). */
  modelClassName: string;
  modelNameOrPath: string | ModelSource | null;
  /** The config repo of a single-file checkpoint (see `DiffusionConfigOptions.configFrom`); null: inferred. */
  configFrom: string | null;
  /** Engine hosts of the `multiproc` executor (see `DiffusionConfigOptions.numHosts`). */
  numHosts: number;
  executorClass: ExecutorSpec;
  dtype: DTypeOption;
  fallback: ExecutorSpec[];
  http: HTTPExecutorOptions | null;
  /** Textual-inversion embeddings (see `DiffusionConfigOptions.embeddings`); empty: none. */
  embeddings: EmbeddingConfig[];
  [custom: string]: unknown;

  constructor(options: DiffusionConfigOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigValidationError('(options)', options, 'an object');
    const o = options;
    if (o.modelClassName !== undefined && typeof o.modelClassName !== 'string') {
      throw new ConfigValidationError('modelClassName', o.modelClassName, 'a string');
    }
    this.modelClassName = o.modelClassName ?? 'StableDiffusionPipeline';
    if (o.modelNameOrPath !== undefined && o.modelNameOrPath !== null && typeof o.modelNameOrPath !== 'string' && !isModelSource(o.modelNameOrPath)) {
      throw new ConfigValidationError('modelNameOrPath', o.modelNameOrPath, 'a Hub id, URL or path string, or a ModelSource');
    }
    this.modelNameOrPath = o.modelNameOrPath ?? null;
    if (o.configFrom !== undefined && o.configFrom !== null && typeof o.configFrom !== 'string') {
      throw new ConfigValidationError('configFrom', o.configFrom, 'a Hub id, URL or folder of a diffusers repo');
    }
    this.configFrom = o.configFrom ?? null;
    for (const key of ['numHosts', 'numGpus'] as const) {
      const v = o[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw new ConfigValidationError(key, v, 'a non-negative integer');
    }
    if (o.numHosts !== undefined && o.numGpus !== undefined && o.numHosts !== o.numGpus) {
      throw new ConfigValidationError('numGpus', o.numGpus, `absent or equal to numHosts (${o.numHosts}); numGpus is numHosts' old name`);
    }
    this.numHosts = o.numHosts ?? o.numGpus ?? 1;
    hostCountKeys.set(this, o.numHosts === undefined && o.numGpus !== undefined ? 'numGpus' : 'numHosts');
    this.executorClass = o.executorClass === undefined || o.executorClass === null ? 'webgpu' : checkExecutorSpec('executorClass', o.executorClass);
    if (o.dtype !== undefined && !DTYPE_OPTIONS.includes(o.dtype)) {
      throw new ConfigValidationError('dtype', o.dtype, DTYPE_OPTIONS.map((d) => `'${d}'`).join(', '));
    }
    this.dtype = o.dtype ?? 'auto';
    const fallback = o.fallback === undefined || o.fallback === null ? [] : Array.isArray(o.fallback) ? o.fallback : [o.fallback];
    this.fallback = fallback.map((spec, i) => checkExecutorSpec(`fallback[${i}]`, spec));
    this.http = o.http === undefined || o.http === null ? null : readHttpOptions(o.http);
    this.embeddings = readEmbeddingsConfig(o.embeddings);
    for (const [key, value] of Object.entries(o)) {
      if (!KNOWN_KEYS.includes(key)) this[key] = value;
    }
    warnUnreadKeys(o, [this.executorClass, ...this.fallback]);
  }

  /** @deprecated Use `numHosts` (the same number under its old name). */
  get numGpus(): number {
    return this.numHosts;
  }

  set numGpus(value: number) {
    this.numHosts = value;
  }
}

/** Which of `numHosts` or its old name `numGpus` a config was given, for errors about it. */
const hostCountKeys = new WeakMap<DiffusionConfig, 'numHosts' | 'numGpus'>();

/** The key a config's host count came from (`numHosts`, or `numGpus` when only that was given), for errors naming it. */
export function hostCountKey(config: DiffusionConfig): 'numHosts' | 'numGpus' {
  return hostCountKeys.get(config) ?? 'numHosts';
}

/**
 * Warns about each key no executor of the config reads, naming the nearest known one. Skipped
 * when an executor does not declare its keys (a custom one may read anything).
 */
function warnUnreadKeys(options: DiffusionConfigOptions, specs: readonly ExecutorSpec[]): void {
  const known = new Set(KNOWN_KEYS);
  for (const spec of specs) {
    const keys = configKeysOf(spec);
    if (keys === undefined) return;
    for (const key of keys) known.add(key);
  }
  const names = specs.map((s) => (typeof s === 'string' ? s : s.shorthand ?? s.name)).join(', ');
  warnUnknownKeys('DiffusionConfig', options, known, `the executor${specs.length > 1 ? 's' : ''} ${names}`);
}
