/** The WebGPU runtime: devices, tensors, buffer pool, kernels and command recording. */
export { BufferPool, bucketSize, type AllocationRecord, type PoolStats, type PooledBuffer } from './buffer-pool.js';
export { GpuContext, getGpu, requestGpuDevice, type AcquiredDevice, type DeviceLostEvent, type GpuRequirements } from './device.js';
export { GpuDeviceLostError, GpuValidationError, ShaderPreprocessError, TensorReleasedError, TensorShapeError } from './errors.js';
export { decodeHalf, encodeHalf, fromHalfBits, toHalfBits } from './half.js';
export { defineKernel, f32, foldWorkgroups, i32, u32, type KernelDef, type StorageAccess, type UniformValue } from './kernel.js';
export { DEFAULT_LIMITS, deviceCapabilities, MAX_STORAGE_BINDINGS, type GpuCapabilities, type GpuLimits } from './limits.js';
export { preprocess, type ShaderDefines } from './preprocess.js';
export { GpuRuntime, type DispatchArgs, type PlanOptions, type RuntimeMode, type RuntimeStats } from './runtime.js';
export { bytesPerElement, GpuTensor, numel, type GpuDType, type TensorChunk } from './tensor.js';
