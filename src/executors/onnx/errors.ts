import { registerErrorClass } from '../../api/error-registry.js';
import { OmniDiffusionError } from '../../api/errors.js';

/**
 * A model in the ONNX Stable Diffusion layout lacks a file it needs (`unet/model.onnx`,
 * `tokenizer/vocab.json`, `scheduler/scheduler_config.json`, ...). `file` is the path inside the
 * model; `location` where it was looked up.
 * Code `ONNX_MODEL_FILE`.
 */
export class OnnxModelFileError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'OnnxModelFileError', 'ONNX_MODEL_FILE');
  }

  readonly file: string;
  readonly location: string;
  constructor(file: string, location: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
    this.location = location;
  }
}

/**
 * An ONNX network's inputs or outputs are not those of a Stable Diffusion export: a name is
 * missing, or a tensor has a type we cannot feed. The message names the model file, what was
 * expected and what the model declares.
 * Code `ONNX_MODEL_SIGNATURE`.
 */
export class OnnxModelSignatureError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'OnnxModelSignatureError', 'ONNX_MODEL_SIGNATURE');
  }

  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}
