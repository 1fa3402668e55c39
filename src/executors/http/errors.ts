import { OmniDiffusionError } from '../../errors.js';

/**
 * A server's 2xx answer does not have the shape its API promises (no `data`, no `b64_json`,
 * too few images). The executor reports it as an `HTTPExecutorError` carrying this as `cause`.
 */
export class UnexpectedResponseError extends OmniDiffusionError {}

/** Bytes that should be a PNG could not be decoded into an RGBA image. */
export class PngDecodeError extends OmniDiffusionError {}
