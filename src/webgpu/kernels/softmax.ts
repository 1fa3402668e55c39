import src from '../../../shaders/softmax.wgsl?raw';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';

const WG = 256;
const SOFTMAX = defineKernel({ family: 'softmax', entryPoint: 'softmax', source: src, storage: ['read', 'read_write'] });

/** Softmax over the last dim, f32 reductions. */
export function softmax(rt: GpuRuntime, x: GpuTensor): GpuTensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = x.size / cols;
  const out = rt.output(x.shape);
  rt.dispatch(SOFTMAX, {
    bindings: [x, out],
    uniforms: { rows, cols },
    defines: { ...rt.storageDefines('X', x), ...rt.outputDefines(out) },
    constants: { WG },
    workgroups: rows,
  });
  return out;
}
