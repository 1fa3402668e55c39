import * as Comlink from 'comlink';
import { ExecutorDeadError } from '../api/errors.js';
import type { EngineHostApi } from './protocol.js';
import type { LaunchedHost } from './host-connection.js';

const isBrowser = typeof (globalThis as { Worker?: unknown }).Worker === 'function' && typeof (globalThis as { document?: unknown }).document !== 'undefined';

/**
 * Starts an engine host this side owns: a module Web Worker in the browser (it gets its own
 * GPU device), a `worker_threads` thread in Node with `worker: true`, and an in-process
 * `EngineHost` in Node by default or with `worker: false`.
 */
export async function launchEngineHost(options: { worker: boolean | undefined; name: string }): Promise<LaunchedHost> {
  if (isBrowser && options.worker !== false) {
    const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: options.name });
    const crashed = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        reject(new ExecutorDeadError(`The engine worker crashed: ${event.message || 'unknown error'} (worker "${options.name}")`));
      });
    });
    crashed.catch(() => undefined);
    const host = Comlink.wrap<EngineHostApi>(worker);
    return {
      host,
      remote: true,
      crashed,
      async close() {
        try {
          await Promise.race([host.dispose(), crashed]);
        } finally {
          worker.terminate();
        }
      },
      kill: () => worker.terminate(),
    };
  }
  if (!isBrowser && options.worker === true) {
    const { launchEngineThread } = await import('./node-thread.js');
    return launchEngineThread(options.name);
  }
  const { EngineHost } = await import('./engine-host.js');
  const host = new EngineHost();
  return {
    host,
    remote: false,
    crashed: null,
    close: () => host.dispose(),
    kill: () => void host.dispose(),
  };
}
