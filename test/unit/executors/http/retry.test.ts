import { describe, expect, it } from 'vitest';
import { backoffDelayMs, isRetryableFailure, isRetryableStatus, MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS, parseRetryAfter, sleep } from '../../../../src/executors/http/retry.js';

describe('isRetryableStatus', () => {
  it('retries 429 and 5xx statuses that depend on load', () => {
    expect([429, 500, 502, 503, 504, 599].filter(isRetryableStatus)).toEqual([429, 500, 502, 503, 504, 599]);
  });

  it('does not retry success, other 4xx, 501 or 505', () => {
    expect([200, 400, 401, 403, 404, 408, 413, 422, 501, 505].filter(isRetryableStatus)).toEqual([]);
  });
});

describe('isRetryableFailure', () => {
  it('retries network errors, timeouts and retryable statuses, never an answer over a size limit', () => {
    expect([isRetryableFailure('network', null), isRetryableFailure('timeout', null), isRetryableFailure('status', 503), isRetryableFailure('status', 400)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect([200, 429, 503].map((status) => isRetryableFailure('too-large', status))).toEqual([false, false, false]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delay-seconds, including zero and a fraction', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP date as the time left until it, and a past date as no wait', () => {
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0);
  });

  it('caps long waits, in seconds or as a date', () => {
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(new Date(now + 3_600_000).toUTCString(), now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('returns null for an absent, empty, negative or unreadable header', () => {
    expect([null, '', '-5', 'soon', '1e3'].map((v) => parseRetryAfter(v, now))).toEqual([null, null, null, null, null]);
  });
});

describe('backoffDelayMs', () => {
  it('doubles per retry and keeps between half and all of the doubled delay', () => {
    expect([0, 1, 2, 3].map((r) => backoffDelayMs(r, 100, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((r) => backoffDelayMs(r, 100, () => 1))).toEqual([100, 200, 400, 800]);
  });

  it('spreads retries with random jitter', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelayMs(2, 100)));
    expect(delays.size).toBeGreaterThan(1);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
  });

  it('never exceeds MAX_BACKOFF_MS, even for large retry numbers', () => {
    expect(backoffDelayMs(40, 250, () => 1)).toBe(MAX_BACKOFF_MS);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('rejects with the abort reason as soon as the signal aborts, and at once when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 10);
    const started = performance.now();
    await expect(sleep(10_000, controller.signal)).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(sleep(10_000, controller.signal)).rejects.toBe(reason);
  });
});
