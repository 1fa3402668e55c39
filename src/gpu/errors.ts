import { OmniDiffusionError } from '../errors.js';

/** The GPU device was lost (driver reset, `destroy()`, out of memory); re-create it through its `GpuContext`. */
export class GpuDeviceLostError extends OmniDiffusionError {
  /** `'destroyed'` when the device was destroyed on purpose, `'unknown'` otherwise. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message || 'no message'}. Call GpuContext.recreate() to get a new device.`);
    this.reason = reason;
  }
}

/** WebGPU reported a validation or out-of-memory error for commands this runtime recorded. */
export class GpuValidationError extends OmniDiffusionError {}

/** A tensor was used after `release`. */
export class TensorReleasedError extends OmniDiffusionError {}

/** A tensor shape, dtype or size does not fit an op or a device limit. */
export class TensorShapeError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'TensorShapeError';
  }
}

/** WGSL preprocessor input is malformed (unbalanced or unknown `#` directive). */
export class ShaderPreprocessError extends OmniDiffusionError {}
