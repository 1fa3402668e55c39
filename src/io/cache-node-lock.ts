import { AbortError } from '../api/errors.js';
import type { CacheLock } from './cache.js';
import { CacheError } from './errors.js';

/** Timing of the lock files of `NodeFolderCache`. */
export interface FileLockOptions {
  /**
   * A lock whose file was not refreshed for this long is taken over: its holder died, or stopped
   * moving bytes (a stream dropped unread), so a waiter never hangs on it. Default 60 s.
   */
  staleMs?: number;
  /** How often a waiter looks again. Default 50 ms. */
  pollMs?: number;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

/**
 * Takes the lock file `lockPath` (created with `O_EXCL`, so one process at a time), waiting while
 * another holder refreshes it. The holder refreshes the file's time every `staleMs / 4` as long
 * as its download made progress (`touch`) within `staleMs`; a lock left by a process that died
 * (same host, pid gone) or not refreshed for `staleMs` is taken over.
 * Two waiters taking over the same stale lock at the same instant could both get it: that needs
 * a crashed holder and a race of a few microseconds, and the file's size and hash checks still
 * keep a mixed-up download out of the cache.
 */
export async function acquireFileLock(lockPath: string, key: string, signal: AbortSignal | undefined, options: FileLockOptions = {}): Promise<CacheLock> {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const staleMs = options.staleMs ?? 60_000;
  const pollMs = options.pollMs ?? 50;
  const mine: LockContent = { pid: process.pid, host: os.hostname(), token: Math.random().toString(36).slice(2) };
  for (;;) {
    if (signal?.aborted) throw new AbortError(`Waiting for the cache lock of ${key} was cancelled.`, { cause: signal.reason });
    try {
      const handle = await fs.open(lockPath, 'wx');
      try {
        await handle.writeFile(JSON.stringify(mine));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw new CacheError(key, `Creating the lock file ${lockPath} failed: ${(err as Error).message}`, { cause: err });
    }
    if (await isStale(lockPath, staleMs, mine.host)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    await sleep(pollMs, signal);
  }
  let active = Date.now();
  const heartbeat = setInterval(() => {
    if (Date.now() - active > staleMs) return;
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => undefined);
  }, Math.max(10, staleMs / 4));
  heartbeat.unref?.();
  let released = false;
  return {
    touch() {
      active = Date.now();
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only our own lock: after a takeover the file may be another holder's.
      const content = await fs.readFile(lockPath, 'utf8').catch(() => '');
      if (content === JSON.stringify(mine)) await fs.rm(lockPath, { force: true });
    },
  };
}

async function isStale(lockPath: string, staleMs: number, host: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    const stats = await fs.stat(lockPath);
    if (Date.now() - stats.mtimeMs > staleMs) return true;
    const content = JSON.parse(await fs.readFile(lockPath, 'utf8')) as Partial<LockContent>;
    return content.host === host && typeof content.pid === 'number' && !isAlive(content.pid);
  } catch {
    // Gone (released meanwhile: the next O_EXCL create tells), or being written: not stale.
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
