import type { DiffusionOutput } from '../../engine/output.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { ExecutorUnavailableError } from '../../errors.js';
import { DiffusionExecutor } from '../executor.js';

/**
 * The `external` executor: attaching to an engine worker started elsewhere.
 * Not built yet: initialisation throws `ExecutorUnavailableError`, so configs that list a
 * `fallback` move on to it.
 */
export class ExternalDiffusionExecutor extends DiffusionExecutor {
  initExecutor(): void {
    throw new ExecutorUnavailableError('The "external" executor is not built yet.');
  }

  executeModel(_requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    return Promise.reject(new ExecutorUnavailableError('The "external" executor is not built yet.'));
  }
}
