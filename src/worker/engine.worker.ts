import * as Comlink from 'comlink';
import { EngineHost } from './engine-host.js';

/**
 * Module worker entry of the WebGPU executor: the worker owns the GPU device and the model;
 * the page talks to it through comlink.
 */
const host = new EngineHost();

Comlink.expose({
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
