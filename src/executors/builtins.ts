import { EXTERNAL_OPTION_KEYS } from './external/options.js';
import { ONNX_OPTION_KEYS } from './onnx/options.js';
import { WEBGPU_OPTION_KEYS } from './webgpu/options.js';

/** A built-in executor as the registry starts with it: a loader and the config keys it reads. */
export interface BuiltinExecutor {
  readonly name: string;
  readonly load: () => Promise<unknown>;
  readonly configKeys: readonly string[];
}

// Loaders, not classes: `import { DiffusionEngine }` pulls in no executor, and an app bundles
// the http client, PNG decoder and onnxruntime glue as chunks loaded only when chosen. The
// config keys are given here so a config can be checked for typos before any executor loads.
const webgpu = (): Promise<unknown> => import('./webgpu/executor.js').then((m) => m.WebGPUDiffusionExecutor);
const multiproc = (): Promise<unknown> => import('./multiproc/executor.js').then((m) => m.MultiProcDiffusionExecutor);

/** The shorthands every engine knows, in the order `listExecutors()` reports them. */
export const BUILTIN_EXECUTORS: readonly BuiltinExecutor[] = [
  { name: 'webgpu', load: webgpu, configKeys: WEBGPU_OPTION_KEYS },
  { name: 'multiproc', load: multiproc, configKeys: WEBGPU_OPTION_KEYS },
  { name: 'mp', load: multiproc, configKeys: WEBGPU_OPTION_KEYS },
  { name: 'external', load: () => import('./external/executor.js').then((m) => m.ExternalDiffusionExecutor), configKeys: EXTERNAL_OPTION_KEYS },
  { name: 'http', load: () => import('./http/executor.js').then((m) => m.HTTPDiffusionExecutor), configKeys: [] },
  { name: 'onnx', load: () => import('./onnx/executor.js').then((m) => m.OnnxDiffusionExecutor), configKeys: ONNX_OPTION_KEYS },
];
