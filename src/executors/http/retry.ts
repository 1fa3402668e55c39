/**
 * Retry policy of the http executor: which answers are worth another attempt, and how long
 * to wait before it.
 */

/**
 * Longest wait a `Retry-After` header can impose. Servers behind proxies sometimes send hours;
 * an interactive caller is better served by a prompt retry and, failing that, a clear error.
 */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Ceiling of the exponential backoff, whatever the attempt number. */
export const MAX_BACKOFF_MS = 30_000;

/**
 * True for statuses a later attempt may cure: 429 (rate limited) and 5xx, except 501 (Not
 * Implemented) and 505 (HTTP Version Not Supported), which describe the server, not its load.
 */
export function isRetryableStatus(status: number): boolean {
  if (status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/** How an attempt failed, as far as the retry policy cares. */
export type FailureKind = 'timeout' | 'network' | 'status' | 'too-large';

/**
 * True when another attempt may cure a failure: network errors, timeouts, and the statuses
 * `isRetryableStatus` accepts. A body over a size limit is not retried, whatever its status:
 * the server would send it again, and reading it again would cost as much.
 */
export function isRetryableFailure(kind: FailureKind, status: number | null): boolean {
  if (kind === 'too-large') return false;
  return kind !== 'status' || (status !== null && isRetryableStatus(status));
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delay-seconds or an HTTP date, capped at
 * `MAX_RETRY_AFTER_MS`. A date in the past means "now" (0). Null when the header is absent or
 * unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text.length === 0) return null;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // Date.parse accepts bare numbers such as "-5" as years; an HTTP date always names its month.
    if (!/[A-Za-z]/.test(text)) return null;
    const date = Date.parse(text);
    if (Number.isNaN(date)) return null;
    ms = Math.max(0, date - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * Delay before retry number `retry` (0 for the first retry): `baseMs * 2^retry`, capped at
 * `MAX_BACKOFF_MS`, of which a random half is jitter, so that clients that failed together
 * do not all come back at the same instant.
 */
export function backoffDelayMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** retry);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
