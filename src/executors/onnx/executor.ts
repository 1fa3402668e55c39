import type { DiffusionOutput } from '../../engine/output.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { ExecutorUnavailableError } from '../../errors.js';
import { DiffusionExecutor } from '../executor.js';

/**
 * The `onnx` executor: ONNX Stable Diffusion exports through onnxruntime-web.
 * Not built yet: initialisation throws `ExecutorUnavailableError`, so configs that list a
 * `fallback` move on to it.
 */
export class OnnxDiffusionExecutor extends DiffusionExecutor {
  initExecutor(): void {
    throw new ExecutorUnavailableError('The "onnx" executor is not built yet.');
  }

  executeModel(_requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    return Promise.reject(new ExecutorUnavailableError('The "onnx" executor is not built yet.'));
  }
}
