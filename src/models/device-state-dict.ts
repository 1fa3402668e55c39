import type { ByteSource, ProgressCallback } from '../io/byte-source.js';
import { StateDictError } from '../io/errors.js';
import { streamSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { StateDict } from '../io/state-dict.js';
import type { TensorDType, TensorLike, TensorOps } from '../kernels/ops.js';

/** Options of {@link streamStateDictToDevice}. */
export interface DeviceStreamOptions {
  /** Name of the checkpoint in errors and progress. */
  file: string;
  /** Storage precision of the uploaded float weights. */
  dtype: TensorDType;
  /** Keys the component never uses (e.g. the VAE's `encoder.`): streamed past, not uploaded. */
  skip?: (name: string) => boolean;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/**
 * A checkpoint whose float tensors already live on the device. It keeps `StateDict`'s checks
 * (missing keys, shapes, renames, leftovers); models take device tensors from it instead of
 * host arrays. Each entry's `data` is a zero-length placeholder that identifies its device tensor.
 */
export class DeviceStateDict<T extends TensorLike> extends StateDict {
  readonly #device = new Map<object, T>();
  readonly #taken = new Set<object>();

  constructor(
    private readonly ops: TensorOps<T>,
    entries: Array<{ entry: SafetensorsTensor; tensor: T | null }>,
    file: string,
  ) {
    super(
      entries.map((e) => e.entry),
      file,
    );
    for (const { entry, tensor } of entries) if (tensor) this.#device.set(entry.data, tensor);
  }

  /** The device tensor under `key`, checked like `take`, viewed in `expectedShape` after a reshaping rename. */
  takeDevice(key: string, expectedShape: readonly number[]): T {
    const entry = this.take(key, expectedShape);
    const tensor = this.#device.get(entry.data);
    if (!tensor) throw new StateDictError(this.file, `${this.file}: weight "${key}" was skipped while streaming (dtype ${entry.dtype}), but the model needs it.`);
    this.#taken.add(entry.data);
    const same = tensor.shape.length === expectedShape.length && tensor.shape.every((d, i) => d === expectedShape[i]);
    if (same) return tensor;
    const view = this.ops.reshape(tensor, expectedShape);
    this.ops.release(tensor);
    return view;
  }

  /** Frees every uploaded tensor no model took (ignored keys); call once the model is built. */
  releaseUntaken(): void {
    for (const [key, tensor] of this.#device) if (!this.#taken.has(key)) this.ops.release(tensor);
    this.#device.clear();
  }
}

/**
 * Streams a safetensors checkpoint straight to the device: each float tensor is uploaded as
 * soon as its bytes have arrived, so host memory holds one tensor at a time, never the file.
 * Integer tensors (e.g. CLIP's `position_ids`) and skipped keys are kept as entries only, so
 * `finish()` still accounts for them.
 */
export async function streamStateDictToDevice<T extends TensorLike>(
  ops: TensorOps<T>,
  source: ByteSource,
  options: DeviceStreamOptions,
): Promise<DeviceStateDict<T>> {
  const entries: Array<{ entry: SafetensorsTensor; tensor: T | null }> = [];
  try {
    await streamSafetensors(source, {
      file: options.file,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onTensor: (t) => {
        const placeholder = new Float32Array(0);
        const upload = t.data instanceof Float32Array && !(options.skip?.(t.name) ?? false);
        entries.push({
          entry: { name: t.name, dtype: t.dtype, shape: t.shape, data: placeholder },
          tensor: upload ? ops.upload(t.data as Float32Array, t.shape, options.dtype) : null,
        });
      },
    });
  } catch (err) {
    for (const e of entries) if (e.tensor) ops.release(e.tensor);
    throw err;
  }
  return new DeviceStateDict(ops, entries, options.file);
}
