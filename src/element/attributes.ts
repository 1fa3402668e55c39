import { DTYPE_OPTIONS, type DTypeOption } from '../api/dtype.js';
import type { DecoderKind, DiffusionRequestInit } from '../api/request.js';
import type { EngineKey } from './engine-registry.js';
import { ElementAttributeError } from './errors.js';

/** Attributes the element observes. */
export const OBSERVED_ATTRIBUTES = [
  'prompt',
  'negative-prompt',
  'model',
  'steps',
  'guidance',
  'seed',
  'width',
  'height',
  'scheduler',
  'executor',
  'endpoint',
  'decoder',
  'prompt-syntax',
  'dtype',
  'variant',
  'init-image',
  'strength',
  'autogenerate',
] as const;

export type ObservedAttribute = (typeof OBSERVED_ATTRIBUTES)[number];

/**
 * How an attribute reads back as an element property, named in camelCase (`negative-prompt` →
 * `negativePrompt`): `text` a string, `''` when absent; `string` the attribute or null; `number`
 * the attribute as a finite number or null; `boolean` whether it is present.
 * `init-image` is left out: its property also takes pixels, so the element writes it by hand.
 */
export const REFLECTED_ATTRIBUTES = {
  prompt: 'text',
  'negative-prompt': 'text',
  model: 'string',
  scheduler: 'string',
  executor: 'string',
  endpoint: 'string',
  decoder: 'string',
  'prompt-syntax': 'string',
  dtype: 'string',
  variant: 'string',
  steps: 'number',
  guidance: 'number',
  seed: 'number',
  width: 'number',
  height: 'number',
  strength: 'number',
  autogenerate: 'boolean',
} as const satisfies Partial<Record<ObservedAttribute, 'text' | 'string' | 'number' | 'boolean'>>;

/** Attributes whose change needs another engine. */
export const ENGINE_ATTRIBUTES: ReadonlySet<string> = new Set(['model', 'executor', 'endpoint', 'dtype', 'variant']);

/** Model used when the `model` attribute is absent. */
export const DEFAULT_MODEL = 'stabilityai/sd-turbo';

const EXECUTORS = new Set(['webgpu', 'onnx', 'http']);

type Read = (name: ObservedAttribute) => string | null;

function integer(read: Read, name: ObservedAttribute, min: number, expected: string, multipleOf = 1): number | undefined {
  const raw = read(name);
  if (raw === null || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value % multipleOf !== 0) throw new ElementAttributeError(name, raw, expected);
  return value;
}

/** The request the attributes describe (without signal and progress callback). */
export function requestFromAttributes(read: Read): DiffusionRequestInit {
  const request: DiffusionRequestInit = { prompt: read('prompt') ?? '' };
  const negative = read('negative-prompt');
  if (negative) request.negativePrompt = negative;
  const steps = integer(read, 'steps', 1, 'a positive integer');
  if (steps !== undefined) request.numInferenceSteps = steps;
  const guidanceRaw = read('guidance');
  if (guidanceRaw !== null && guidanceRaw.trim() !== '') {
    const guidance = Number(guidanceRaw);
    if (!Number.isFinite(guidance)) throw new ElementAttributeError('guidance', guidanceRaw, 'a finite number');
    request.guidanceScale = guidance;
  }
  const seed = integer(read, 'seed', 0, 'a non-negative integer');
  if (seed !== undefined) request.seed = seed;
  const width = integer(read, 'width', 8, 'a positive multiple of 8', 8);
  if (width !== undefined) request.width = width;
  const height = integer(read, 'height', 8, 'a positive multiple of 8', 8);
  if (height !== undefined) request.height = height;
  const scheduler = read('scheduler');
  if (scheduler) request.scheduler = scheduler;
  const decoder = read('decoder');
  if (decoder) {
    if (decoder !== 'vae' && decoder !== 'taesd') throw new ElementAttributeError('decoder', decoder, '"vae" or "taesd"');
    request.decoder = decoder as DecoderKind;
  }
  const syntax = read('prompt-syntax');
  if (syntax) {
    if (syntax !== 'a1111' && syntax !== 'plain') throw new ElementAttributeError('prompt-syntax', syntax, '"a1111" or "plain"');
    request.promptSyntax = syntax;
  }
  return request;
}

/**
 * The img2img settings: `init-image` resolved against `baseUrl` (null when absent) and `strength`
 * in (0, 1] (undefined when absent: the engine's default). `strength` alone is kept for when an
 * image is given as a property, and otherwise unused.
 */
export function initImageFromAttributes(read: Read, baseUrl: string): { url: string | null; strength: number | undefined } {
  const raw = read('init-image');
  let url: string | null = null;
  if (raw !== null && raw.trim() !== '') {
    const parsed = URL.parse(raw.trim(), baseUrl);
    if (!parsed || !['http:', 'https:', 'data:', 'blob:'].includes(parsed.protocol)) {
      throw new ElementAttributeError('init-image', raw, 'the URL of an image (http(s), data: or blob:)');
    }
    url = parsed.href;
  }
  const strengthRaw = read('strength');
  let strength: number | undefined;
  if (strengthRaw !== null && strengthRaw.trim() !== '') {
    strength = Number(strengthRaw);
    if (!Number.isFinite(strength) || strength <= 0 || strength > 1) throw new ElementAttributeError('strength', strengthRaw, 'a number in (0, 1]');
  }
  return { url, strength };
}

/**
 * The engine the attributes ask for. A relative `endpoint` resolves against `baseUrl` (the
 * document's), so a page can point at a server behind its own origin.
 */
export function engineKeyFromAttributes(read: Read, baseUrl: string): EngineKey {
  const executor = read('executor') || 'webgpu';
  if (!EXECUTORS.has(executor)) throw new ElementAttributeError('executor', executor, '"webgpu", "onnx" or "http"');
  const rawEndpoint = read('endpoint');
  let endpoint: string | null = null;
  if (rawEndpoint) {
    const url = URL.parse(rawEndpoint, baseUrl);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ElementAttributeError('endpoint', rawEndpoint, 'an http(s) URL of a vllm-omni server');
    }
    endpoint = url.href.replace(/\/+$/, '');
  }
  if (executor === 'http' && !endpoint) throw new ElementAttributeError('endpoint', rawEndpoint ?? '', 'the server URL (executor="http" needs one)');
  const dtype = read('dtype') || 'auto';
  if (!(DTYPE_OPTIONS as readonly string[]).includes(dtype)) throw new ElementAttributeError('dtype', dtype, DTYPE_OPTIONS.map((d) => `"${d}"`).join(', '));
  const model = read('model') || DEFAULT_MODEL;
  // decoder="taesd" needs a TAESD beside the model: the one for its family (SDXL latents need taesdxl).
  const taesd = read('decoder') === 'taesd' ? 'auto' : null;
  return { model: resolveModel(model, baseUrl), executor, endpoint, dtype: dtype as DTypeOption, variant: read('variant') || null, taesd };
}

/**
 * A relative model URL (`./models/tiny/`) becomes absolute, since the engine loads it from a
 * worker whose base URL is the script's, not the page's. Hub ids (`owner/name`) stay as they are.
 */
function resolveModel(model: string, baseUrl: string): string {
  if (/^(\.{0,2}\/)/.test(model)) return new URL(model, baseUrl).href;
  return model;
}
