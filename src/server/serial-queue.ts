import { AbortError } from '../api/errors.js';
import { HttpError } from './errors.js';

/**
 * Runs jobs one at a time, first come first served, with at most `maxWaiting` jobs waiting
 * behind the one that runs (more are refused with 503 and `Retry-After`). A job whose signal
 * aborts while it waits leaves the queue at once, without running.
 */
export class SerialQueue {
  readonly #maxWaiting: number;
  #tail: Promise<void> = Promise.resolve();
  /** Jobs given and not yet settled: the one running (or about to) and those behind it. */
  #pending = 0;

  constructor(maxWaiting: number) {
    this.#maxWaiting = maxWaiting;
  }

  /** Jobs queued behind the one running. */
  get waiting(): number {
    return Math.max(0, this.#pending - 1);
  }

  /** Runs `job` after every job queued before it; rejects with `AbortError` if `signal` aborts first. */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#pending > 0 && this.waiting >= this.#maxWaiting) {
      return Promise.reject(new HttpError(503, `The server is busy: ${this.waiting} requests are already waiting. Retry later.`, { 'retry-after': '5' }));
    }
    if (signal?.aborted) return Promise.reject(new AbortError('The request was aborted before it was queued.'));
    this.#pending++;
    const turn = this.#tail;
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    // The next job waits for this one's predecessor and for this one, even if this one never runs.
    this.#tail = turn.then(() => left);
    return new Promise<T>((resolve, reject) => {
      let started = false;
      const onAbort = (): void => {
        if (started) return;
        started = true;
        this.#pending--;
        leave();
        reject(new AbortError('The request was aborted while it waited in the queue.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void turn.then(async () => {
        if (started) return;
        started = true;
        signal?.removeEventListener('abort', onAbort);
        try {
          resolve(await job());
        } catch (err) {
          reject(err);
        } finally {
          this.#pending--;
          leave();
        }
      });
    });
  }
}
