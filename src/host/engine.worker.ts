import * as Comlink from 'comlink';
import { EngineHost } from './engine-host.js';
import { exposedHostApi } from './host-api.js';

/**
 * Module worker entry of the WebGPU executor: the worker owns the GPU device and the model;
 * the page talks to it through comlink.
 */
Comlink.expose(exposedHostApi(new EngineHost()));
