import { AbortError, HTTPExecutorError, TimeoutError } from '../../errors.js';
import { errorDetailOf } from './detail.js';
import { backoffDelayMs, isRetryableStatus, parseRetryAfter, sleep } from './retry.js';

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
  | { kind: 'status'; status: number; statusText: string; detail: string | null; snippet: string; retryAfterMs: number | null };

type AttemptResult = { ok: true; status: number; text: string } | ({ ok: false } & AttemptFailure);

const SNIPPET_CHARS = 120;

/**
 * The executor's HTTP layer over `fetch`: per-attempt timeouts, exponential backoff with
 * jitter (honouring `Retry-After`), cancellation through the caller's signal and the
 * executor's shutdown, and error messages that name the cause but never the API key.
 */
export class HttpTransport {
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
  }

  /** `text` with every occurrence of the API key replaced, for anything that may reach a user. */
  redact(text: string): string {
    const key = this.#o.apiKey;
    return key ? text.split(key).join('[redacted]') : text;
  }

  /**
   * POSTs `body` as JSON and resolves with the parsed 2xx answer, retrying what a retry may
   * cure. Rejects with `HTTPExecutorError` (status, network failure, malformed JSON),
   * `TimeoutError`, or `AbortError` when `signal` or the shutdown cancels it.
   */
  async postJson(url: string, body: unknown, signal: AbortSignal | undefined, stats: AttemptStats): Promise<JsonAnswer> {
    const init: RequestInit = { method: 'POST', headers: this.#headers(true), body: JSON.stringify(body) };
    const cancel = signal ? AbortSignal.any([signal, this.#o.shutdownSignal]) : this.#o.shutdownSignal;
    for (let retry = 0; ; retry++) {
      stats.attempts = retry + 1;
      const result = await this.#attempt(url, init, signal);
      if (result.ok) return { status: result.status, body: this.#parseJson(url, result) };
      const retryable = result.kind !== 'status' || isRetryableStatus(result.status);
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
    const result = await this.#attempt(url, { method: 'GET', headers: this.#headers(false) }, undefined);
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

  /** One request and its whole body under the per-attempt time limit. Throws only `AbortError`. */
  async #attempt(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<AttemptResult> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#o.timeoutMs);
    const signals = [timeout.signal, this.#o.shutdownSignal];
    if (signal) signals.push(signal);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.any(signals) });
      const text = await res.text();
      if (res.ok) return { ok: true, status: res.status, text };
      const detail = errorDetailOf(text);
      return {
        ok: false,
        kind: 'status',
        status: res.status,
        statusText: res.statusText,
        detail: detail === null ? null : this.redact(detail),
        snippet: snippet(text),
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
    } catch (cause) {
      const got = answer.text.length === 0 ? 'an empty body' : `malformed JSON (${(cause as Error).message}); the body starts with ${JSON.stringify(snippet(answer.text))}`;
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

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS - 3)}...` : flat;
}
