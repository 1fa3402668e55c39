import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';
import { boundedEcho } from './bounded-echo.js';

/** One field error, in FastAPI's (pydantic's) shape: `loc` starts with `body`. */
export interface ValidationIssue {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
  ctx?: Record<string, unknown>;
}

/**
 * A request the image server answers with an error status and `{"detail": ...}`: a sentence,
 * or (422) a list of field errors as FastAPI sends them, which the `http` executor renders as
 * `field: message; field: message`. Each issue's `input` is kept only as a bounded echo
 * (see `boundedEcho`): a stranger's value can be deep, cyclic or huge, and the error path must
 * never fail on it or send it back whole.
 * Code `HTTP_ERROR`.
 */
export class HttpError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'HttpError', 'HTTP_ERROR');
  }

  readonly status: number;
  readonly detail: string | ValidationIssue[];
  /** Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, detail: string | ValidationIssue[], headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : detail.map((d) => `${d.loc.slice(1).join('.')}: ${d.msg}`).join('; '));
    this.status = status;
    this.detail = typeof detail === 'string' ? detail : detail.map((d) => ('input' in d ? { ...d, input: boundedEcho(d.input) } : d));
    this.headers = headers;
  }
}

/** A `createImageServer` option is out of range or malformed; `option` names it. Code `SERVER_OPTION_INVALID`. */
export class ImageServerOptionError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ImageServerOptionError', 'SERVER_OPTION_INVALID');
  }

  readonly option: string;
  constructor(option: string, message: string) {
    super(`Invalid ImageServerOptions.${option}: ${message}`);
    this.option = option;
  }
}
