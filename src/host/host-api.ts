import type { EngineHostApi } from './protocol.js';
import { withSerializedErrors } from './remote-errors.js';

/**
 * What a worker exposes of its engine host (an `EngineHost`, through comlink), bound to it: the same API in a browser
 * Web Worker and in a Node `worker_threads` thread. Its errors cross as `SerializedError`
 * records, which the caller's `HostConnection` rebuilds into their classes.
 */
export function exposedHostApi(host: EngineHostApi): EngineHostApi & { crash(): void } {
  return withSerializedErrors({
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
  });
}
