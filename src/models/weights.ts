import type { TensorDType, TensorLike, TensorOps } from '../webgpu/kernels/ops.js';
import type { StateDict } from '../io/state-dict.js';
import { DeviceStateDict } from './device-state-dict.js';

/** How a model's weights are stored on the device. */
export interface WeightOptions {
  /** Storage precision of the uploaded weights (default `f32`). */
  dtype?: TensorDType;
}

/**
 * A component's checkpoint bound to the ops that will hold its weights. Models take each weight
 * through it with the shape their config implies, so a missing key or a wrong shape fails by key
 * (`MissingWeightError`, `WeightShapeError`) before anything runs; each weight is uploaded once
 * and recorded so that the model can release them all.
 */
export class ModelWeights<T extends TensorLike> {
  /** Every tensor uploaded so far, in upload order. */
  readonly uploaded: T[] = [];

  constructor(
    readonly ops: TensorOps<T>,
    readonly dict: StateDict,
    readonly dtype: TensorDType = 'f32',
  ) {}

  /** Takes `key` from the checkpoint, checks its shape and uploads it (or takes it as already streamed to the device). */
  tensor(key: string, shape: readonly number[]): T {
    const t = this.dict instanceof DeviceStateDict ? (this.dict as DeviceStateDict<T>).takeDevice(key, shape) : this.ops.upload(this.dict.takeFloat32(key, shape), shape, this.dtype);
    this.uploaded.push(t);
    return t;
  }

  /** Releases every weight uploaded through this object. */
  releaseAll(): void {
    for (const t of this.uploaded.splice(0)) this.ops.release(t);
  }
}
