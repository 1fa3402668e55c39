import * as page from './opfs-cache-page.js';

/** Answers `{ id, name, args }` with the result of `page[name](...args)`, run in this worker. */
self.addEventListener('message', (e: MessageEvent<{ id: number; name: string; args: unknown[] }>) => {
  const { id, name, args } = e.data;
  const fn = (page as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
  Promise.resolve()
    .then(() => fn(...args))
    .then(
      (result) => self.postMessage({ id, result, sync: typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === 'function' }),
      (err: unknown) => self.postMessage({ id, error: String(err) }),
    );
});
