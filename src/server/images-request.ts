import type { DiffusionRequestInit } from '../api/request.js';
import { describeValue } from '../api/errors.js';
import { HttpError, type ValidationIssue } from './errors.js';

/** Limits the server puts on a request beyond the API's own ranges. */
export interface ImagesRequestLimits {
  /** Largest width and height, in pixels. */
  maxImageSize: number;
  /** Longest `prompt` and `negative_prompt`, in characters (code points, as pydantic counts). */
  maxPromptLength: number;
}

type Field = 'negative_prompt' | 'n' | 'size' | 'num_inference_steps' | 'guidance_scale' | 'seed';

/**
 * Reads a vllm-omni `POST /v1/images/generations` body into a request. Type and range errors
 * (prompt required; `n` 1-10, `num_inference_steps` 1-200, `guidance_scale` 0-20, `seed` a
 * non-negative integer, `prompt` and `negative_prompt` at most `maxPromptLength` characters)
 * are collected and thrown together as a 422 with FastAPI's detail list;
 * values of the right type the server cannot honour (a size that is not "WxH" in multiples of
 * 8, `response_format` "url", `output_format` other than png) are a 400 with a sentence.
 * `model`, `true_cfg_scale`, `user`, `quality` and `style` are accepted and not used.
 */
export function parseImagesRequest(body: unknown, limits: ImagesRequestLimits): DiffusionRequestInit {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(422, [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]);
  }
  const b = body as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const issue = (field: string, type: string, msg: string, ctx?: Record<string, unknown>): void => {
    issues.push({ type, loc: ['body', field], msg, input: b[field], ...(ctx ? { ctx } : {}) });
  };
  const present = (field: string): boolean => b[field] !== undefined && b[field] !== null;
  const string = (field: Field | 'model' | 'response_format' | 'output_format' | 'user' | 'quality' | 'style'): string | undefined => {
    if (!present(field)) return undefined;
    if (typeof b[field] !== 'string') {
      issue(field, 'string_type', 'Input should be a valid string');
      return undefined;
    }
    return b[field];
  };
  const number = (field: Field | 'true_cfg_scale', integer: boolean, min: number, max?: number): number | undefined => {
    if (!present(field)) return undefined;
    const v = b[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issue(field, integer ? 'int_type' : 'float_type', `Input should be a valid ${integer ? 'integer' : 'number'}`);
      return undefined;
    }
    if (integer && !Number.isSafeInteger(v)) {
      issue(field, 'int_from_float', 'Input should be a valid integer, got a number with a fractional part or out of range');
      return undefined;
    }
    if (v < min) {
      issue(field, 'greater_than_equal', `Input should be greater than or equal to ${min}`, { ge: min });
      return undefined;
    }
    if (max !== undefined && v > max) {
      issue(field, 'less_than_equal', `Input should be less than or equal to ${max}`, { le: max });
      return undefined;
    }
    return v;
  };

  const promptLength = (field: 'prompt' | 'negative_prompt', text: string | undefined): void => {
    if (text !== undefined && codePointsOver(text, limits.maxPromptLength)) {
      issue(field, 'string_too_long', `String should have at most ${limits.maxPromptLength} characters (this server's limit)`, { max_length: limits.maxPromptLength });
    }
  };
  if (b.prompt === undefined) issue('prompt', 'missing', 'Field required');
  else if (typeof b.prompt !== 'string') issue('prompt', 'string_type', 'Input should be a valid string');
  else promptLength('prompt', b.prompt);
  const negativePrompt = string('negative_prompt');
  promptLength('negative_prompt', negativePrompt);
  const n = number('n', true, 1, 10);
  const size = string('size');
  const steps = number('num_inference_steps', true, 1, 200);
  const guidance = number('guidance_scale', false, 0, 20);
  const seed = number('seed', true, 0);
  number('true_cfg_scale', false, 0);
  const responseFormat = string('response_format');
  const outputFormat = string('output_format');
  for (const ignored of ['model', 'user', 'quality', 'style'] as const) string(ignored);
  if (issues.length > 0) throw new HttpError(422, issues);

  if (responseFormat !== undefined && responseFormat !== 'b64_json') {
    throw new HttpError(400, `response_format ${describeValue(responseFormat)} is not supported: this server answers with "b64_json" only.`);
  }
  if (outputFormat !== undefined && outputFormat.toLowerCase() !== 'png') {
    throw new HttpError(400, `output_format ${describeValue(outputFormat)} is not supported: this server encodes "png" only.`);
  }
  const init: DiffusionRequestInit = { prompt: b.prompt as string };
  if (negativePrompt !== undefined) init.negativePrompt = negativePrompt;
  if (n !== undefined) init.numOutputsPerPrompt = n;
  if (size !== undefined) Object.assign(init, parseSize(size, limits.maxImageSize));
  if (steps !== undefined) init.numInferenceSteps = steps;
  if (guidance !== undefined) init.guidanceScale = guidance;
  if (seed !== undefined) init.seed = seed;
  return init;
}

/** `"512x768"` → width 512, height 768; anything else is a 400 saying what is expected. */
function parseSize(size: string, maxImageSize: number): { width: number; height: number } {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size.trim());
  const shown = describeValue(size);
  if (!match) throw new HttpError(400, `Invalid size ${shown}: expected "WIDTHxHEIGHT", e.g. "512x512".`);
  const width = Number(match[1]);
  const height = Number(match[2]);
  for (const [side, v] of [['width', width], ['height', height]] as const) {
    if (v < 8 || v % 8 !== 0) throw new HttpError(400, `Invalid size ${shown}: the ${side} must be a positive multiple of 8.`);
    if (v > maxImageSize) throw new HttpError(400, `Invalid size ${shown}: the ${side} is over this server's limit of ${maxImageSize}.`);
  }
  return { width, height };
}

/** Whether `text` has more than `max` code points; stops counting at `max + 1`. */
function codePointsOver(text: string, max: number): boolean {
  // A string's UTF-16 length bounds its code points from above.
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}
