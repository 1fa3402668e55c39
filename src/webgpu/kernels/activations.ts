import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';

/**
 * Whether `t` can be read as an activation: f32, or f16 on a device with shader-f16 (where the
 * runtime may store activations as f16; kernels read them as `array<f16>`). Packed f16 without
 * shader-f16 is a weight format only.
 */
export function isActivation(rt: GpuRuntime, t: GpuTensor): boolean {
  return t.dtype === 'f32' || (t.dtype === 'f16' && rt.shaderF16);
}
