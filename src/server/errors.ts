import { OmniDiffusionError } from '../errors.js';

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
 * `field: message; field: message`.
 */
export class HttpError extends OmniDiffusionError {
  readonly status: number;
  readonly detail: string | ValidationIssue[];
  /** Extra response headers (`Allow`, `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, detail: string | ValidationIssue[], headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : detail.map((d) => `${d.loc.slice(1).join('.')}: ${d.msg}`).join('; '));
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}
