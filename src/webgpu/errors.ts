import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';

/** The GPU device was lost (driver reset, `destroy()`, out of memory); re-create it through its `GpuContext`. Code `GPU_DEVICE_LOST`. */
export class GpuDeviceLostError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'GpuDeviceLostError', 'GPU_DEVICE_LOST');
  }

  /** `'destroyed'` when the device was destroyed on purpose, `'unknown'` otherwise. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message || 'no message'}. Call GpuContext.recreate() to get a new device.`);
    this.reason = reason;
  }
}

/** WebGPU reported a validation or out-of-memory error for commands this runtime recorded. Code `GPU_VALIDATION`. */
export class GpuValidationError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'GpuValidationError', 'GPU_VALIDATION');
  }
}

/** A tensor was used after `release`. Code `TENSOR_RELEASED`. */
export class TensorReleasedError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'TensorReleasedError', 'TENSOR_RELEASED');
  }
}

/** A tensor shape, dtype or size does not fit an op or a device limit. Code `TENSOR_SHAPE`. */
export class TensorShapeError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'TensorShapeError', 'TENSOR_SHAPE');
  }

  constructor(message: string) {
    super(message);
    this.name = 'TensorShapeError';
  }
}

/** WGSL preprocessor input is malformed (unbalanced or unknown `#` directive). Code `SHADER_PREPROCESS`. */
export class ShaderPreprocessError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ShaderPreprocessError', 'SHADER_PREPROCESS');
  }
}
