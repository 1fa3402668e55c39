/** The device limits the runtime reads; names and meanings as in `GPUSupportedLimits`. */
export interface GpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minUniformBufferOffsetAlignment: number;
  readonly minStorageBufferOffsetAlignment: number;
}

/** What a device offers beyond the WebGPU baseline, as the kernels need to know it. */
export interface GpuCapabilities {
  /** `shader-f16`: f16 storage and arithmetic in WGSL. Without it f16 tensors are stored packed two per u32. */
  readonly shaderF16: boolean;
  /** `subgroups`. */
  readonly subgroups: boolean;
  readonly limits: GpuLimits;
}

/** The WebGPU spec's default limits: what every device grants without asking. */
export const DEFAULT_LIMITS: GpuLimits = Object.freeze({
  maxStorageBufferBindingSize: 134_217_728,
  maxBufferSize: 268_435_456,
  maxComputeWorkgroupsPerDimension: 65_535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16_384,
  maxStorageBuffersPerShaderStage: 8,
  minUniformBufferOffsetAlignment: 256,
  minStorageBufferOffsetAlignment: 256,
});

/**
 * The limits that size chunks and tiles: a device granted the adapter's larger values splits
 * tensors into fewer bindings and attention into larger tiles. Everything also works at the
 * defaults.
 */
export const SIZE_LIMITS: readonly (keyof GpuLimits)[] = Object.freeze(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize']);

/** Never more than this many storage buffers per kernel, whatever the device allows, so every kernel runs on every device. */
export const MAX_STORAGE_BINDINGS = 8;

/** Reads the limits this runtime uses from a device or adapter. */
export function readLimits(limits: GPUSupportedLimits): GpuLimits {
  const out: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof GpuLimits)[]) out[key] = limits[key];
  return out as unknown as GpuLimits;
}

/** Capabilities of a device: features it was created with, limits it was granted. */
export function deviceCapabilities(device: GPUDevice): GpuCapabilities {
  return {
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    limits: readLimits(device.limits),
  };
}
