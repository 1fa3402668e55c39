import { AbortError, HTTPExecutorError, TimeoutError } from '../../api/errors.js';
import { declaredLength, readCappedBody } from './body.js';
import { errorDetailOf } from './detail.js';
import { ResponseTooLargeError } from './errors.js';
import { formatBytes, MAX_ERROR_BODY_BYTES } from './limits.js';
import { redactSecrets } from './redact.js';
import { backoffDelayMs, isRetryableFailure, parseRetryAfter, sleep } from './retry.js';

/** Settings of `HttpTransport`, resolved from `config.http` with their defaults. */
export interface TransportOptions {
  /** Bearer token; scrubbed from every message the transport produces. */
  apiKey: string | null;
  /** Time limit of one attempt, from sending the request to the end of the answer's body. */
  timeoutMs: number;
  /** Attempts after the first one on network errors, timeouts, 429 and retryable 5xx. */
  maxRetries: number;
  retryBaseDelayMs: number;
  /** Aborted by the executor's shutdown: cancels every attempt and every backoff wait. */
  shutdownSignal: AbortSignal;
}

/** A 2xx answer whose body parsed as JSON. */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** Counts attempts, so failed requests can report them too. */
export interface AttemptStats {
  attempts: number;
}

/** Why one attempt got no usable answer; turned into an error once retries are settled. */
type AttemptFailure =
  | { kind: 'timeout' }
  | { kind: 'network'; cause: unknown }
  | { kind: 'status'; status: number; statusText: string; detail: string | null; snippet: string; retryAfterMs: number | null }
  /** A 2xx body over the limit: `declared` by Content-Length (refused unread), or null when counted while streaming. */
  | { kind: 'too-large'; status: number; limit: number; declared: number | null };

type AttemptResult = { ok: true; status: number; text: string } | ({ ok: false } & AttemptFailure);

const SNIPPET_CHARS = 120;

/**
 * The executor's HTTP layer over `fetch`: per-attempt timeouts, exponential backoff with
 * jitter (honouring `Retry-After`), cancellation through the caller's signal and the
 * executor's shutdown, bodies read up to a limit, and error messages that name the cause but
 * never the API key.
 */
export class HttpTransport {
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
  }

  /**
   * `text` with the API key and any `Bearer <token>` replaced, for anything that may reach a
   * user. Whole texts only: truncate after redacting, never before.
   */
  redact(text: string): string {
    return redactSecrets(text, this.#o.apiKey);
  }

  /**
   * POSTs `body` as JSON and resolves with the parsed 2xx answer, retrying what a retry may
   * cure. A 2xx body over `maxResponseBytes` (by `Content-Length`, or counted as it streams)
   * rejects with `ResponseTooLargeError` at once, without a retry. Otherwise rejects with
   * `HTTPExecutorError` (status, network failure, malformed JSON), `TimeoutError`, or
   * `AbortError` when `signal` or the shutdown cancels it.
   */
  async postJson(url: string, body: unknown, signal: AbortSignal | undefined, stats: AttemptStats, maxResponseBytes: number): Promise<JsonAnswer> {
    const init: RequestInit = { method: 'POST', headers: this.#headers(true), body: JSON.stringify(body) };
    const cancel = signal ? AbortSignal.any([signal, this.#o.shutdownSignal]) : this.#o.shutdownSignal;
    for (let retry = 0; ; retry++) {
      stats.attempts = retry + 1;
      const result = await this.#attempt(url, init, signal, maxResponseBytes);
      if (result.ok) return { status: result.status, body: this.#parseJson(url, result) };
      const retryable = isRetryableFailure(result.kind, result.kind === 'status' ? result.status : null);
      if (!retryable || retry >= this.#o.maxRetries) {
        const note = retry > 0 ? ` (gave up after ${retry + 1} attempts)` : '';
        throw this.#failureError(`POST ${url}`, result, note);
      }
      const delay = (result.kind === 'status' ? result.retryAfterMs : null) ?? backoffDelayMs(retry, this.#o.retryBaseDelayMs);
      try {
        await sleep(delay, cancel);
      } catch {
        throw this.#abortError(`POST ${url}`, signal);
      }
    }
  }

  /** One GET, no retries; rejects with `HTTPExecutorError` unless the answer is 200. */
  async expectOk(url: string, what: string): Promise<void> {
    const result = await this.#attempt(url, { method: 'GET', headers: this.#headers(false) }, undefined, null);
    if (result.ok && result.status === 200) return;
    if (result.ok) {
      throw new HTTPExecutorError(this.redact(`${what}: GET ${url} answered ${result.status} instead of 200.`), result.status, null);
    }
    const err = this.#failureError(`GET ${url}`, result, '');
    if (err instanceof HTTPExecutorError) throw new HTTPExecutorError(`${what}: ${err.message}`, err.status, err.detail, { cause: err.cause });
    throw new HTTPExecutorError(`${what}: ${err.message}`, null, null, { cause: err });
  }

  #headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json) headers['content-type'] = 'application/json';
    if (this.#o.apiKey) headers.authorization = `Bearer ${this.#o.apiKey}`;
    return headers;
  }

  /**
   * One request and its body under the per-attempt time limit. A 2xx body is read whole up to
   * `okLimit` bytes, or is a 'too-large' failure; with `okLimit` null (the health check, whose
   * body is ignored) and for error statuses, only the first `MAX_ERROR_BODY_BYTES` are read.
   * Throws only `AbortError`.
   */
  async #attempt(url: string, init: RequestInit, signal: AbortSignal | undefined, okLimit: number | null): Promise<AttemptResult> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#o.timeoutMs);
    const signals = [timeout.signal, this.#o.shutdownSignal];
    if (signal) signals.push(signal);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.any(signals) });
      if (res.ok && okLimit !== null) {
        const declared = declaredLength(res);
        if (declared !== null && declared > okLimit) {
          await res.body?.cancel().catch(() => undefined);
          return { ok: false, kind: 'too-large', status: res.status, limit: okLimit, declared };
        }
        const body = await readCappedBody(res, okLimit);
        if (!body.complete) return { ok: false, kind: 'too-large', status: res.status, limit: okLimit, declared: null };
        return { ok: true, status: res.status, text: body.text };
      }
      const { text } = await readCappedBody(res, MAX_ERROR_BODY_BYTES);
      if (res.ok) return { ok: true, status: res.status, text };
      return {
        ok: false,
        kind: 'status',
        status: res.status,
        statusText: res.statusText,
        detail: errorDetailOf(text, (t) => this.redact(t)),
        snippet: snippet(this.redact(text)),
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      };
    } catch (cause) {
      if (signal?.aborted || this.#o.shutdownSignal.aborted) throw this.#abortError(`${init.method} ${url}`, signal);
      if (timeout.signal.aborted) return { ok: false, kind: 'timeout' };
      return { ok: false, kind: 'network', cause };
    } finally {
      clearTimeout(timer);
    }
  }

  #parseJson(url: string, answer: { status: number; text: string }): unknown {
    try {
      return JSON.parse(answer.text);
    } catch {
      // V8's message quotes the body around the error, cut short, so a key there could show
      // in part: the message (and the cause) are taken from the redacted body instead.
      const safe = this.redact(answer.text);
      const cause = jsonSyntaxErrorOf(safe);
      const got = answer.text.length === 0 ? 'an empty body' : `malformed JSON (${cause.message}); the body starts with ${JSON.stringify(snippet(safe))}`;
      throw new HTTPExecutorError(this.redact(`POST ${url} answered ${answer.status} with ${got}.`), answer.status, null, { cause });
    }
  }

  #failureError(what: string, failure: AttemptFailure, note: string): Error {
    switch (failure.kind) {
      case 'timeout':
        return new TimeoutError(`${what} got no complete answer within ${this.#o.timeoutMs} ms (http.timeoutMs)${note}.`);
      case 'network':
        return new HTTPExecutorError(
          this.redact(`Network failure: ${what} got no answer (${describeCause(failure.cause)})${note}.`),
          null,
          null,
          { cause: failure.cause },
        );
      case 'status': {
        const status = `${failure.status}${failure.statusText ? ` ${failure.statusText}` : ''}`;
        const why = failure.detail ?? (failure.snippet.length > 0 ? `body ${JSON.stringify(failure.snippet)}` : 'empty body');
        return new HTTPExecutorError(this.redact(`${what} answered ${status}: ${why}${note}.`), failure.status, failure.detail);
      }
      case 'too-large': {
        const how = failure.declared === null ? 'stopped reading there' : `its Content-Length says ${failure.declared} bytes, so it was refused unread`;
        return new ResponseTooLargeError(
          this.redact(
            `${what} answered ${failure.status} with a body over the ${formatBytes(failure.limit)} limit (${how}); not retried. ` +
              'The default limit is sized to the images asked for; if the server is right to send more, raise http.maxResponseBytes.',
          ),
          failure.status,
          failure.limit,
          'bytes',
        );
      }
    }
  }

  #abortError(what: string, signal: AbortSignal | undefined): AbortError {
    if (signal?.aborted) {
      const reason: unknown = signal.reason;
      const why = reason instanceof Error && reason.message ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
      return new AbortError(this.redact(`${what} was aborted${why}.`));
    }
    return new AbortError(`${what} was cancelled: the http executor was shut down.`);
  }
}

/** `fetch failed: other side closed (UND_ERR_SOCKET)`: the messages and codes down the cause chain. */
function describeCause(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
    e = e.cause;
  }
  return parts.join(': ') || 'unknown error';
}

/** The error `JSON.parse` throws on `text` (redaction may, at worst, have made it parse). */
function jsonSyntaxErrorOf(text: string): Error {
  try {
    JSON.parse(text);
  } catch (err) {
    return err as Error;
  }
  return new SyntaxError('the body is not valid JSON');
}

/** The start of `text` on one line. Redact `text` first: a key cut here would no longer match. */
function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS - 3)}...` : flat;
}
