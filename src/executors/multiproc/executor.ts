import type { DiffusionOutput } from '../../engine/output.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { ExecutorUnavailableError } from '../../errors.js';
import { DiffusionExecutor } from '../executor.js';

/**
 * The `multiproc` executor: a pool of WebGPU workers.
 * Not built yet: initialisation throws `ExecutorUnavailableError`, so configs that list a
 * `fallback` move on to it.
 */
export class MultiProcDiffusionExecutor extends DiffusionExecutor {
  initExecutor(): void {
    throw new ExecutorUnavailableError('The "multiproc" executor is not built yet.');
  }

  executeModel(_requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    return Promise.reject(new ExecutorUnavailableError('The "multiproc" executor is not built yet.'));
  }
}
