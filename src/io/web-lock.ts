import { AbortError } from '../api/errors.js';
import type { CacheLock } from './cache.js';
import { CacheError } from './errors.js';

/** Timing of the Web Locks taken by `OpfsModelCache`. */
export interface WebLockOptions {
  /**
   * A holder that moves no bytes for this long gives its lock up, so waiters never hang on a
   * download whose stream was dropped unread (the lock of a closed tab or a crashed worker is
   * released by the browser at once). Default 60 s.
   */
  staleMs?: number;
}

/**
 * Takes the Web Lock `name` (`navigator.locks`: exclusive across every tab and worker of the
 * origin), waiting for its holder. Where Web Locks are missing (old browsers) the lock is a no-op:
 * two loads of one file may then both download it, and the size and hash checks still keep a
 * mixed-up file out of the cache.
 */
export async function acquireWebLock(name: string, key: string, signal: AbortSignal | undefined, options: WebLockOptions = {}): Promise<CacheLock> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks || typeof locks.request !== 'function') return { release: () => Promise.resolve() };
  if (signal?.aborted) throw new AbortError(`Waiting for the cache lock of ${key} was cancelled.`, { cause: signal.reason });
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  await new Promise<void>((granted, refused) => {
    locks
      .request(name, signal ? { signal } : {}, () => {
        granted();
        // The lock is held until this promise settles.
        return held;
      })
      .catch((err: unknown) => {
        if (signal?.aborted) refused(new AbortError(`Waiting for the cache lock of ${key} was cancelled.`, { cause: signal.reason }));
        else refused(new CacheError(key, `Taking the Web Lock "${name}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      });
  });
  const staleMs = options.staleMs ?? 60_000;
  let active = Date.now();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(watchdog);
    letGo();
  };
  const watchdog = setInterval(() => {
    if (Date.now() - active > staleMs) release();
  }, Math.max(10, staleMs / 4));
  (watchdog as { unref?: () => void }).unref?.();
  return {
    touch() {
      active = Date.now();
    },
    release() {
      release();
      return Promise.resolve();
    },
  };
}
