import type { GpuLimits } from '../webgpu/limits.js';

/**
 * The most bytes one storage binding can cover on a device with `limits`: a binding is no
 * larger than `maxStorageBufferBindingSize`, nor than the buffer behind it (`maxBufferSize`).
 * What a model's `maxBindingBytes` option takes (see `UNetLoadOptions`).
 */
export function maxBindingBytes(limits: Pick<GpuLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}
