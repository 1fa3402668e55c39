import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { OmniDiffusionError } from '../api/errors.js';
import { EngineHost } from './engine-host.js';
import { exposedHostApi } from './host-api.js';
import { nodePortEndpoint } from './node-port.js';

/**
 * Node `worker_threads` entry of the WebGPU executor (`worker: true` in Node): the thread owns
 * the Dawn device and the model, so the caller's event loop (a server's `/health`, its aborts,
 * its signals) stays free while a generation records and waits on the GPU. Built to
 * `dist/engine-thread.js`.
 */
if (!parentPort) throw new OmniDiffusionError('engine.thread.js is a worker_threads entry; start it with new Worker(...), not as a script.');
Comlink.expose(exposedHostApi(new EngineHost()), nodePortEndpoint(parentPort));
