import src from '../../../shaders/convert.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';

const WG = 256;
const TO_F32 = defineKernel({ family: 'convert', entryPoint: 'to_f32', source: src, storage: ['read', 'read_write'] });
const TO_F16 = defineKernel({ family: 'convert', entryPoint: 'to_f16', source: src, storage: ['read', 'read_write'] });

/**
 * Elements [offset, offset + count) of x as a new f32 tensor of `shape` (default: all of x, same shape).
 * Also the copy path for f16 sources, which cannot be copied 4 bytes at a time.
 */
export function toF32(rt: GpuRuntime, x: GpuTensor, offset = 0, shape: readonly number[] = x.shape): GpuTensor {
  if (x.dtype === 'i32') throw new TensorShapeError(`toF32: i32 tensor [${x.shape}] holds indices, not values`);
  const out = rt.empty(shape, 'f32');
  if (offset + out.size > x.size) throw new TensorShapeError(`toF32: ${out.size} elements at ${offset} outside [${x.shape}]`);
  rt.dispatch(TO_F32, {
    bindings: [x, out],
    uniforms: { n: out.size, offset },
    defines: rt.storageDefines('X', x),
    constants: { WG },
    workgroups: Math.ceil(out.size / WG),
  });
  return out;
}

/** x as a new f16 tensor (rounded to nearest even). */
export function toF16(rt: GpuRuntime, x: GpuTensor): GpuTensor {
  if (x.dtype === 'i32') throw new TensorShapeError(`toF16: i32 tensor [${x.shape}] holds indices, not values`);
  const out = rt.empty(x.shape, 'f16');
  rt.dispatch(TO_F16, {
    bindings: [x, out],
    uniforms: { n: x.size, offset: 0 },
    defines: { ...rt.storageDefines('X', x), ...rt.storageDefines('Y', out) },
    constants: { WG },
    workgroups: Math.ceil(x.size / 2 / WG),
  });
  return out;
}

/** `x` itself when it is f32; else an f32 copy, and `x` is released (a component's output widened for f32 consumers). */
export function asF32(rt: GpuRuntime, x: GpuTensor): GpuTensor {
  if (x.dtype === 'f32') return x;
  const out = toF32(rt, x);
  rt.release(x);
  return out;
}
