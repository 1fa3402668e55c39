import { OmniDiffusionError } from '../errors.js';

/**
 * A client asked a shared engine host for a different model than the one its other clients
 * use. The host keeps serving the loaded model; give the clients the same model fields, or
 * use a separate host.
 */
export class SharedHostModelMismatchError extends OmniDiffusionError {}
