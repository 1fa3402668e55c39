import { checkMaxResponseBytes } from '../executors/http/limits.js';
import { ConfigValidationError } from '../errors.js';
import { checkExecutorSpec, type ExecutorSpec } from '../executors/spec.js';
import { isModelSource, type ModelSource } from '../io/sources/model-source.js';

/** Which remote API the `http` executor speaks. */
export type HTTPApiKind = 'openai' | 'a1111';

/** Settings of the `http` executor. */
export interface HTTPExecutorOptions {
  /** Server root, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never logged or put in errors. */
  apiKey?: string;
  /** Per-attempt time limit in ms (default 120000). */
  timeoutMs?: number;
  /** Retries after the first attempt on network errors, 429 and 5xx (default 2). */
  maxRetries?: number;
  /** `openai` (vllm-omni `/v1/images/generations`, the default) or `a1111` (`/sdapi/v1/txt2img`). */
  api?: HTTPApiKind;
  /** Model name sent to the server; defaults to the config's `modelNameOrPath`. */
  model?: string;
  /** Base delay of the exponential backoff in ms (default 250). */
  retryBaseDelayMs?: number;
  /**
   * Largest answer read, in bytes, counted while it streams (after decompression); a larger one
   * fails with `ResponseTooLargeError` and is not retried. Default: sized to each request (twice
   * the largest PNGs it can return, as base64, plus 4 MiB), or 256 MiB when the size is the server's.
   */
  maxResponseBytes?: number;
}

/** Weight and activation precision. `auto` picks f16 where the device supports it. */
export type DTypeOption = 'auto' | 'f32' | 'f16';

/** Options of `new DiffusionConfig(...)`. Unknown keys are kept on the config for custom executors. */
export interface DiffusionConfigOptions {
  modelClassName?: string;
  /**
   * Hub id (`stabilityai/sd-turbo`), URL, or local folder; or a `ModelSource` object (e.g. a
   * `BlobSource`, or a `RecipeSource` of synthetic weights), which executors that load the model in
   * this thread (`webgpu` in Node or with `worker: false`, `onnx`) read as it is, uncached.
   */
  modelNameOrPath?: string | ModelSource;
  /** Number of workers (each with its own device and model); 0 for remote executors. */
  numGpus?: number;
  /** Shorthand, `"module#Export"` specifier, or executor class. Left out: `webgpu`. */
  executorClass?: ExecutorSpec;
  dtype?: DTypeOption;
  /** Executors to try, in order, when the primary one throws `ExecutorUnavailableError` at init. */
  fallback?: ExecutorSpec | ExecutorSpec[];
  http?: HTTPExecutorOptions;
  [custom: string]: unknown;
}

const KNOWN_KEYS = new Set(['modelClassName', 'modelNameOrPath', 'numGpus', 'executorClass', 'dtype', 'fallback', 'http']);

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
  modelClassName: string;
  modelNameOrPath: string | ModelSource | null;
  numGpus: number;
  executorClass: ExecutorSpec;
  dtype: DTypeOption;
  fallback: ExecutorSpec[];
  http: HTTPExecutorOptions | null;
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
    if (o.numGpus !== undefined && (typeof o.numGpus !== 'number' || !Number.isInteger(o.numGpus) || o.numGpus < 0)) {
      throw new ConfigValidationError('numGpus', o.numGpus, 'a non-negative integer');
    }
    this.numGpus = o.numGpus ?? 1;
    this.executorClass = o.executorClass === undefined || o.executorClass === null ? 'webgpu' : checkExecutorSpec('executorClass', o.executorClass);
    if (o.dtype !== undefined && o.dtype !== 'auto' && o.dtype !== 'f32' && o.dtype !== 'f16') {
      throw new ConfigValidationError('dtype', o.dtype, "'auto', 'f32' or 'f16'");
    }
    this.dtype = o.dtype ?? 'auto';
    const fallback = o.fallback === undefined || o.fallback === null ? [] : Array.isArray(o.fallback) ? o.fallback : [o.fallback];
    this.fallback = fallback.map((spec, i) => checkExecutorSpec(`fallback[${i}]`, spec));
    this.http = o.http === undefined || o.http === null ? null : validateHttp(o.http);
    for (const [key, value] of Object.entries(o)) {
      if (!KNOWN_KEYS.has(key)) this[key] = value;
    }
  }
}

function validateHttp(http: unknown): HTTPExecutorOptions {
  if (typeof http !== 'object' || http === null) throw new ConfigValidationError('http', http, 'an object with baseUrl');
  const h = http as Record<string, unknown>;
  if (typeof h.baseUrl !== 'string' || !URL.canParse(h.baseUrl)) {
    throw new ConfigValidationError('http.baseUrl', h.baseUrl, 'an absolute http(s) URL');
  }
  const protocol = new URL(h.baseUrl).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigValidationError('http.baseUrl', h.baseUrl, 'an http: or https: URL');
  if (h.apiKey !== undefined && typeof h.apiKey !== 'string') throw new ConfigValidationError('http.apiKey', '<redacted>', 'a string');
  for (const key of ['timeoutMs', 'retryBaseDelayMs'] as const) {
    const v = h[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new ConfigValidationError(`http.${key}`, v, 'a positive number of milliseconds');
    }
  }
  if (h.maxRetries !== undefined && (typeof h.maxRetries !== 'number' || !Number.isInteger(h.maxRetries) || h.maxRetries < 0)) {
    throw new ConfigValidationError('http.maxRetries', h.maxRetries, 'a non-negative integer');
  }
  if (h.api !== undefined && h.api !== 'openai' && h.api !== 'a1111') throw new ConfigValidationError('http.api', h.api, "'openai' or 'a1111'");
  if (h.model !== undefined && typeof h.model !== 'string') throw new ConfigValidationError('http.model', h.model, 'a string');
  checkMaxResponseBytes(h.maxResponseBytes);
  return { ...(h as unknown as HTTPExecutorOptions) };
}
