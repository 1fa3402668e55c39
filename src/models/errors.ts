import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError, describeValue } from '../api/errors.js';

/**
 * A model config (`config.json`) names something this library cannot build, or a field has the
 * wrong type. `file` is the config file and `field` the offending field, e.g.
 * `down_block_types[0]`; the message says what is supported.
 * Code `MODEL_CONFIG_INVALID`.
 */
export class ModelConfigError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ModelConfigError', 'MODEL_CONFIG_INVALID');
  }

  readonly file: string;
  readonly field: string;
  readonly value: unknown;
  constructor(file: string, field: string, value: unknown, expected: string) {
    super(
      value === undefined
        ? `${file}: ${field} is missing: expected ${expected}.`
        : `${file}: ${field} = ${describeValue(value)} is not supported: expected ${expected}.`,
    );
    this.file = file;
    this.field = field;
    this.value = value;
  }
}

/** A model was called with inputs whose shapes or values do not fit its config. Code `MODEL_INPUT_INVALID`. */
export class ModelInputError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ModelInputError', 'MODEL_INPUT_INVALID');
  }

  /** The model class, e.g. `UNet2DConditionModel`. */
  readonly model: string;
  constructor(model: string, message: string) {
    super(`${model}: ${message}`);
    this.model = model;
  }
}
