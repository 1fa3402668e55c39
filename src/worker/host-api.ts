import type { EngineHost } from './engine-host.js';
import type { EngineHostApi } from './protocol.js';

/**
 * What a worker exposes of its `EngineHost` (comlink), bound to it: the same API in a browser
 * Web Worker and in a Node `worker_threads` thread.
 */
export function exposedHostApi(host: EngineHost): EngineHostApi & { crash(): void } {
  return {
    load: host.load.bind(host),
    generate: host.generate.bind(host),
    cancel: host.cancel.bind(host),
    memory: host.memory.bind(host),
    loseDevice: host.loseDevice.bind(host),
    injectFault: host.injectFault.bind(host),
    dispose: host.dispose.bind(host),
    /** Fault injection for tests: an uncaught error kills the worker, as a crash would. */
    crash(): void {
      setTimeout(() => {
        throw new Error('worker crash (fault injection)');
      });
    },
  };
}
