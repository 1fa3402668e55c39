import src from '../../../shaders/layer-norm.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';

const WG = 256;
const LAYER_NORM = defineKernel({ family: 'layer-norm', entryPoint: 'layer_norm', source: src, storage: ['read', 'read', 'read', 'read_write'] });

/** x [..., C] normalised over the last dim (two-pass, f32), then gamma/beta [C]. */
export function layerNorm(rt: GpuRuntime, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, eps: number): GpuTensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  if (gamma.size !== cols || beta.size !== cols) {
    throw new TensorShapeError(`layerNorm: gamma [${gamma.shape}] / beta [${beta.shape}] must have ${cols} elements for x [${x.shape}]`);
  }
  const rows = x.size / cols;
  const out = rt.output(x.shape);
  rt.dispatch(LAYER_NORM, {
    bindings: [x, gamma, beta, out],
    uniforms: { rows, cols, eps },
    defines: { ...rt.storageDefines('X', x), ...rt.storageDefines('G', gamma), ...rt.storageDefines('B', beta), ...rt.outputDefines(out) },
    constants: { WG },
    workgroups: rows,
  });
  return out;
}
