import { StateDict } from '../io/state-dict.js';
import type { SafetensorsTensor } from '../io/safetensors.js';
import { PlanError } from './errors.js';

/** One weight a model took from a `SyntheticStateDict`. */
export interface GeneratedWeight {
  readonly key: string;
  readonly shape: readonly number[];
}

/**
 * A checkpoint that holds every weight a model asks for, generated on demand as zeros of the
 * shape the model's config implies. It lets a full-size model be built from its config alone
 * (no download), e.g. to plan its device memory: the plan runtime's `upload` keeps no data.
 *
 * All tensors are views of one shared zero buffer, as long as the largest weight, so building
 * an 860 M-parameter UNet never holds more than that one weight's worth of host memory.
 * Nothing may write into the returned data. The keys taken are recorded in `generated`.
 */
export class SyntheticStateDict extends StateDict {
  /** Every weight handed out, in the order the model took them. */
  readonly generated: GeneratedWeight[] = [];
  #zeros = new Float32Array(0);

  /** `file` names the (imaginary) checkpoint in errors. */
  constructor(file: string) {
    super([], file);
  }

  /** Total parameters handed out so far. */
  get parameters(): number {
    return this.generated.reduce((n, w) => n + count(w.shape), 0);
  }

  /** Zeros of `expectedShape` under `key`; the shape is required, since nothing is stored to take it from. */
  override take(key: string, expectedShape?: readonly number[]): SafetensorsTensor {
    if (!expectedShape) throw new PlanError(`${this.file}: weight "${key}" was requested without a shape; generated weights need the shape the config implies.`);
    const n = count(expectedShape);
    if (n > this.#zeros.length) this.#zeros = new Float32Array(n);
    this.generated.push({ key, shape: [...expectedShape] });
    return { name: key, dtype: 'F32', shape: [...expectedShape], data: this.#zeros.subarray(0, n) };
  }
}

function count(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}
