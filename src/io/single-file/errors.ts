import { registerErrorClass } from '../../api/error-registry.js';
import { OmniDiffusionError } from '../../api/errors.js';

/**
 * What is wrong with a single-file checkpoint before any weight is read:
 * - `pickle`: a `.ckpt`/`.pt`/`.pth`/`.bin` file, or pickle / zip (`torch.save`) bytes. Unpickling
 *   runs arbitrary code, so such a file is never opened; convert it to safetensors first.
 * - `unsupported_architecture`: a known layout this library does not load (an SGM
 *   `conditioner.embedders.*` file that is not SDXL base: a refiner's lone OpenCLIP tower, say).
 * - `unknown_architecture`: no layout this library knows (no `model.diffusion_model.` UNet, say).
 * - `bad_metadata`: its `__metadata__` says something this library cannot read
 *   (`modelspec.prediction_type` other than `epsilon` or `v`).
 */
export type CheckpointFormatProblem = 'pickle' | 'unsupported_architecture' | 'unknown_architecture' | 'bad_metadata';

/**
 * A single-file (original LDM/CompVis layout) checkpoint cannot be loaded as it is: `file` names
 * it, `problem` says why (see `CheckpointFormatProblem`). Code `CHECKPOINT_FORMAT`.
 */
export class CheckpointFormatError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'CheckpointFormatError', 'CHECKPOINT_FORMAT');
  }

  readonly file: string;
  readonly problem: CheckpointFormatProblem;
  constructor(file: string, problem: CheckpointFormatProblem, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
    this.problem = problem;
  }
}
