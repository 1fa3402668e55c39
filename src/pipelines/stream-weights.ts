import type { DiffusersRepo } from '../io/diffusers-repo.js';
import type { ByteProgress, ByteSource, ProgressCallback } from '../io/byte-source.js';
import { DeviceStateDict, streamStateDictToDevice } from '../models/device-state-dict.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import type { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import type { QuantPolicy } from '../quant/policy.js';
import type { ParsedQuantizationConfig } from '../quant/quantization-config.js';

/** How a checkpoint is streamed to the device: precision, cancellation, and who hears of its bytes. */
export interface StreamOptions {
  dtype: TensorDType;
  quantize?: QuantPolicy | null | undefined;
  /** The checkpoint is pre-quantized as this config says (see `DeviceStreamOptions.prequantized`). */
  prequantized?: ParsedQuantizationConfig | null | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressCallback | undefined;
  onUpload?: ((bytes: number) => void) | undefined;
}

/** The options a `ModelSource.fetchFile` takes from `options`. */
export function fetchOptionsOf(options: StreamOptions): { signal?: AbortSignal; onProgress?: ProgressCallback } {
  return { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
}

/**
 * `options` with progress naming each file under `prefix`: a checkpoint read from a repo beside
 * the model's (TAESD's under `taesd/`, a VAE override's under `vae/`) is named where load
 * progress expects it, as `resolveWeightFiles` listed it.
 */
export function withProgressPrefix(options: StreamOptions, prefix: string): StreamOptions {
  const onProgress = options.onProgress;
  return { ...options, onProgress: onProgress && ((p: ByteProgress) => onProgress({ ...p, file: prefix + p.file })) };
}

/** Streams a checkpoint straight into device tensors (one piece in host memory at a time). */
export function streamCheckpoint(ops: GpuOps, file: ByteSource, name: string, options: StreamOptions, skip: ((key: string) => boolean) | null): Promise<DeviceStateDict<GpuTensor>> {
  return streamStateDictToDevice(ops, file, {
    file: name,
    dtype: options.dtype,
    quantize: options.quantize ?? null,
    prequantized: options.prequantized ?? null,
    ...(skip ? { skip } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onUpload ? { onUpload: options.onUpload } : {}),
  });
}

/** Streams a component's weights (the file `DiffusersRepo.openWeights` picks). */
export async function streamComponent(repo: DiffusersRepo, name: string, ops: GpuOps, options: StreamOptions, skip: ((key: string) => boolean) | null): Promise<DeviceStateDict<GpuTensor>> {
  const { path, file } = await repo.openWeights(name, fetchOptionsOf(options));
  return streamCheckpoint(ops, file, `${repo.source.id}/${path}`, options, skip);
}
