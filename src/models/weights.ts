import type { TensorDType, TensorLike, TensorOps } from '../webgpu/kernels/ops.js';
import type { StateDict } from '../io/state-dict.js';
import { DeviceStateDict } from './device-state-dict.js';
import type { QuantPolicy } from '../quant/policy.js';
import type { QuantScheme } from '../quant/scheme.js';
import type { LoraTarget } from './lora/adapter.js';

/** How a model's weights are stored on the device. */
export interface WeightOptions {
  /** Storage precision of the uploaded weights (default `f32`). */
  dtype?: TensorDType;
  /** Weights stored quantized instead (see `QuantPolicy`); only on ops that hold quantized weights (the GPU's). */
  quantize?: QuantPolicy | null;
}

/** Ops that can hold a quantized weight (`GpuOps`). */
export interface QuantizingOps<T extends TensorLike> extends TensorOps<T> {
  uploadQuantized(data: Float32Array, shape: readonly number[], scheme: QuantScheme): T;
}

function canQuantize<T extends TensorLike>(ops: TensorOps<T>): ops is QuantizingOps<T> {
  return typeof (ops as Partial<QuantizingOps<T>>).uploadQuantized === 'function';
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
  /** The Linear and Conv2d layers built from these weights, by module path (`down_blocks.0.attentions.0.proj_in`): what a LoRA can adapt. */
  readonly layers = new Map<string, LoraTarget<T>>();

  readonly dtype: TensorDType;
  readonly #quantize: QuantPolicy | null;

  constructor(
    readonly ops: TensorOps<T>,
    readonly dict: StateDict,
    options: WeightOptions = {},
  ) {
    this.dtype = options.dtype ?? 'f32';
    this.#quantize = options.quantize ?? null;
    if (this.#quantize && !canQuantize(ops)) throw new TypeError('ModelWeights: quantized weights need ops that hold them (GpuOps)');
  }

  /**
   * Takes `key` from the checkpoint, checks its shape and uploads it, quantized where the policy
   * says so (or takes it as already streamed to the device, quantized there).
   */
  tensor(key: string, shape: readonly number[]): T {
    let t: T;
    if (this.dict instanceof DeviceStateDict) t = (this.dict as DeviceStateDict<T>).takeDevice(key, shape);
    else if (this.#quantize?.select(key, shape)) t = (this.ops as QuantizingOps<T>).uploadQuantized(this.dict.takeFloat32(key, shape), shape, this.#quantize.scheme);
    else t = this.ops.upload(this.dict.takeFloat32(key, shape), shape, this.dtype);
    this.uploaded.push(t);
    return t;
  }

  /** Records `layer` as the module at `path` and returns it. */
  layer<L extends LoraTarget<T>>(path: string, layer: L): L {
    this.layers.set(path, layer);
    return layer;
  }

  /** Releases every weight uploaded through this object. */
  releaseAll(): void {
    for (const t of this.uploaded.splice(0)) this.ops.release(t);
  }
}
