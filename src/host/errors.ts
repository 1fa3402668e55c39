import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';

/**
 * A client asked a shared engine host for a different model than the one its other clients
 * use. The host keeps serving the loaded model; give the clients the same model fields, or
 * use a separate host.
 * Code `SHARED_HOST_MODEL_MISMATCH`.
 */
export class SharedHostModelMismatchError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'SharedHostModelMismatchError', 'SHARED_HOST_MODEL_MISMATCH');
  }
}
