import type { DiffusionOutput } from '../../engine/output.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { ExecutorUnavailableError } from '../../errors.js';
import { DiffusionExecutor } from '../executor.js';

/** Placeholder; replaced by the real HTTP executor. */
export class HTTPDiffusionExecutor extends DiffusionExecutor {
  initExecutor(): void {
    throw new ExecutorUnavailableError('The "http" executor is not built yet.');
  }

  executeModel(_requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    return Promise.reject(new ExecutorUnavailableError('The "http" executor is not built yet.'));
  }
}
