import { EXTERNAL_OPTION_KEYS } from './external/options.js';
import { ONNX_OPTION_KEYS } from './onnx/options.js';
import { registerExecutor } from './registry.js';
import { WEBGPU_OPTION_KEYS } from './webgpu/options.js';

// Loaders, not classes: `import { DiffusionEngine }` pulls in no executor, and an app bundles
// the http client, PNG decoder and onnxruntime glue as chunks loaded only when chosen. The
// config keys are given here so a config can be checked for typos before any executor loads.
const webgpu = (): Promise<unknown> => import('./webgpu/executor.js').then((m) => m.WebGPUDiffusionExecutor);
const multiproc = (): Promise<unknown> => import('./multiproc/executor.js').then((m) => m.MultiProcDiffusionExecutor);
registerExecutor('webgpu', webgpu, { configKeys: WEBGPU_OPTION_KEYS });
registerExecutor('multiproc', multiproc, { configKeys: WEBGPU_OPTION_KEYS });
registerExecutor('mp', multiproc, { configKeys: WEBGPU_OPTION_KEYS });
registerExecutor('external', () => import('./external/executor.js').then((m) => m.ExternalDiffusionExecutor), { configKeys: EXTERNAL_OPTION_KEYS });
registerExecutor('http', () => import('./http/executor.js').then((m) => m.HTTPDiffusionExecutor), { configKeys: [] });
registerExecutor('onnx', () => import('./onnx/executor.js').then((m) => m.OnnxDiffusionExecutor), { configKeys: ONNX_OPTION_KEYS });
