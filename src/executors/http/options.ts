import { ConfigValidationError } from '../../api/errors.js';
import { optionBlock, warnUnknownKeys } from '../options.js';
import { checkMaxResponseBytes } from './limits.js';

/** Which remote API the `http` executor speaks. */
export type HTTPApiKind = 'openai' | 'a1111';

/** Settings of the `http` executor, given as the config field `http`. */
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

const KNOWN = new Set<string>(['baseUrl', 'apiKey', 'timeoutMs', 'maxRetries', 'api', 'model', 'retryBaseDelayMs', 'maxResponseBytes'] satisfies Array<keyof HTTPExecutorOptions>);

/** The `http` block of the config, validated (`ConfigValidationError` naming `http.<key>`); unknown keys are warned about once. */
export function readHttpOptions(http: unknown): HTTPExecutorOptions {
  if (http === undefined || http === null) throw new ConfigValidationError('http', http, 'an object with baseUrl');
  const h = optionBlock('http', http, '{ baseUrl: "http://127.0.0.1:8000" }');
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
  warnUnknownKeys('DiffusionConfig.http', h, KNOWN, 'the http executor');
  return { ...(h as unknown as HTTPExecutorOptions) };
}
