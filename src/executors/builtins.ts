import { ExternalDiffusionExecutor } from './external/executor.js';
import { HTTPDiffusionExecutor } from './http/executor.js';
import { MultiProcDiffusionExecutor } from './multiproc/executor.js';
import { OnnxDiffusionExecutor } from './onnx/executor.js';
import { registerExecutor } from './registry.js';
import { WebGPUDiffusionExecutor } from './webgpu/executor.js';

registerExecutor('webgpu', WebGPUDiffusionExecutor);
registerExecutor('multiproc', MultiProcDiffusionExecutor);
registerExecutor('mp', MultiProcDiffusionExecutor);
registerExecutor('external', ExternalDiffusionExecutor);
registerExecutor('http', HTTPDiffusionExecutor);
registerExecutor('onnx', OnnxDiffusionExecutor);

export { ExternalDiffusionExecutor, HTTPDiffusionExecutor, MultiProcDiffusionExecutor, OnnxDiffusionExecutor, WebGPUDiffusionExecutor };
