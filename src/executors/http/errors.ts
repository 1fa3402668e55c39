import { registerErrorClass } from '../../api/error-registry.js';
import { HTTPExecutorError, OmniDiffusionError } from '../../api/errors.js';

/**
 * A server's 2xx answer does not have the shape its API promises (no `data`, no `b64_json`,
 * too few images). The executor reports it as an `HTTPExecutorError` carrying this as `cause`.
 * Code `HTTP_UNEXPECTED_RESPONSE`.
 */
export class UnexpectedResponseError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'UnexpectedResponseError', 'HTTP_UNEXPECTED_RESPONSE');
  }
}

/** Bytes that should be a PNG could not be decoded into an RGBA image. Code `PNG_DECODE`. */
export class PngDecodeError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'PngDecodeError', 'PNG_DECODE');
  }
}

/** What a size limit counts. */
export type SizeLimitUnit = 'bytes' | 'pixels';

/**
 * A PNG claims, or would inflate to, more than the executor accepts: more pixels than the cap,
 * more base64 than its size can need, or compressed data that inflates past what its header
 * describes (a decompression bomb). Found before decoding; the executor reports it as a
 * `ResponseTooLargeError`.
 * Code `PNG_TOO_LARGE`.
 */
export class PngTooLargeError extends PngDecodeError {
  static {
    registerErrorClass(this, 'PngTooLargeError', 'PNG_TOO_LARGE');
  }

  /** The limit that was passed. */
  readonly limit: number;
  readonly unit: SizeLimitUnit;
  constructor(message: string, limit: number, unit: SizeLimitUnit, options?: { cause?: unknown }) {
    super(message, options);
    this.limit = limit;
    this.unit = unit;
  }
}

/**
 * A server's answer is bigger than the executor accepts: a body over `http.maxResponseBytes`
 * (declared by `Content-Length`, or counted while streaming after `Content-Encoding` is
 * undone), or an image whose PNG is over a limit (see `PngTooLargeError`, its `cause` then).
 * The read stops at the limit, and the request is not retried: the server would only send
 * the same answer again.
 * Code `HTTP_RESPONSE_TOO_LARGE`.
 */
export class ResponseTooLargeError extends HTTPExecutorError {
  static {
    registerErrorClass(this, 'ResponseTooLargeError', 'HTTP_RESPONSE_TOO_LARGE');
  }

  /** The limit that was passed. */
  readonly limit: number;
  readonly unit: SizeLimitUnit;
  constructor(message: string, status: number, limit: number, unit: SizeLimitUnit, options?: { cause?: unknown }) {
    super(message, status, null, options);
    this.limit = limit;
    this.unit = unit;
  }
}
