/**
 * Size limits of the http executor: how much of a server's answer it reads, and how large an
 * image it decodes. A stranger's server can send an endless body, a compression bomb or a PNG
 * header that claims billions of pixels; each limit turns that into a prompt, typed error
 * instead of exhausted memory.
 */
import type { DiffusionRequest } from '../../api/request.js';
import { ConfigValidationError } from '../../api/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Pixels one image may have, 8192×8192 (256 MiB as RGBA8): four times the largest size
 * today's diffusion models are trained for, and as much as one decoded image should take.
 */
export const MAX_REMOTE_IMAGE_PIXELS = 8192 * 8192;

/** Response limit when the request leaves the image size to the server, so none can be computed. */
export const UNSIZED_MAX_RESPONSE_BYTES = 256 * MiB;

/**
 * Largest accepted `http.maxResponseBytes`: the body is decoded into one string, and V8 (the
 * strictest engine) caps strings at 2^29 - 24 characters; a UTF-8 body has at least as many
 * bytes as characters.
 */
export const MAX_RESPONSE_BYTES_CEILING = 2 ** 29 - 24;

/**
 * Bytes read of an error (non-2xx) body, and of a health check's body. Only a detail line
 * and a snippet are shown; 64 KiB holds the longest FastAPI validation list with room to spare.
 */
export const MAX_ERROR_BODY_BYTES = 64 * KiB;

/** Room for the JSON around the images (`created`, `info`, `parameters`, ...), a few KiB in practice. */
const JSON_SLACK_BYTES = 4 * MiB;

/** Room per PNG for ancillary chunks: text (AUTOMATIC1111 writes its parameters there), ICC profiles. */
const PNG_ANCILLARY_BYTES = 1 * MiB;

/**
 * The largest PNG of `width`×`height` a server can honestly send: 16-bit RGBA (8 bytes a
 * pixel) stored without compression, a filter byte per row, plus deflate's stored-block and
 * IDAT chunk framing (under 1/256 even with 4 KiB chunks) and room for ancillary chunks.
 */
export function maxPngFileBytes(width: number, height: number): number {
  const raw = height * (1 + width * 8);
  return Math.ceil(raw * (1 + 1 / 256)) + PNG_ANCILLARY_BYTES;
}

/** `maxPngFileBytes` as base64: 4 characters per 3 bytes, and 5% for line breaks some encoders add. */
export function maxPngBase64Chars(width: number, height: number): number {
  return Math.ceil(maxPngFileBytes(width, height) * (4 / 3) * 1.05);
}

/**
 * Default response limit of `request`: twice the worst-case base64 PNGs of the images asked
 * for (the second half covers AUTOMATIC1111's batch grid, an extra image as large as the
 * batch), plus 4 MiB and the prompts eight times per image (AUTOMATIC1111 echoes them in
 * `parameters` and, JSON-escaped inside a JSON string, in `info`). 256 MiB when the request
 * leaves the size to the server. Never above `MAX_RESPONSE_BYTES_CEILING`.
 */
export function defaultMaxResponseBytes(request: DiffusionRequest): number {
  if (request.width === undefined || request.height === undefined) return UNSIZED_MAX_RESPONSE_BYTES;
  const n = request.numOutputsPerPrompt;
  const promptChars = request.prompt.length + (request.negativePrompt?.length ?? 0);
  const bytes = 2 * n * maxPngBase64Chars(request.width, request.height) + JSON_SLACK_BYTES + 8 * (n + 1) * promptChars;
  return Math.min(bytes, MAX_RESPONSE_BYTES_CEILING);
}

/**
 * Validates `http.maxResponseBytes`: undefined (use `defaultMaxResponseBytes`) or an integer
 * from 1 to `MAX_RESPONSE_BYTES_CEILING`. Throws `ConfigValidationError` otherwise.
 */
export function checkMaxResponseBytes(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RESPONSE_BYTES_CEILING) {
    throw new ConfigValidationError(
      'http.maxResponseBytes',
      value,
      `a whole number of bytes from 1 to ${MAX_RESPONSE_BYTES_CEILING} (a body must fit in one string), or nothing for a limit sized to each request`,
    );
  }
  return value;
}

/** `8.0 MiB (8388608 bytes)`, for error messages. */
export function formatBytes(bytes: number): string {
  const unit = bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= KiB ? `${(bytes / KiB).toFixed(1)} KiB` : null;
  return unit === null ? `${bytes} bytes` : `${unit} (${bytes} bytes)`;
}
