import src from '../../shaders/group-norm.wgsl?raw';
import { TensorShapeError } from '../gpu/errors.js';
import { defineKernel, f32, u32 } from '../gpu/kernel.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { GroupNormOptions } from './ops.js';

const WG = 256;
const GROUP_NORM = defineKernel({ family: 'group-norm', entryPoint: 'group_norm', source: src, storage: ['read', 'read', 'read', 'read_write'] });

/** x [B, C, ...] normalised per (batch, group) over C/groups × spatial (two-pass, f32), affine per channel, optional SiLU. */
export function groupNorm(rt: GpuRuntime, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, options: GroupNormOptions): GpuTensor {
  const [B = 1, C = 1] = x.shape;
  const G = options.groups;
  if (x.shape.length < 2 || C % G !== 0) throw new TensorShapeError(`groupNorm: x [${x.shape}] needs [B, C, ...] with C divisible by ${G} groups`);
  if (gamma.size !== C || beta.size !== C) throw new TensorShapeError(`groupNorm: gamma [${gamma.shape}] / beta [${beta.shape}] must have ${C} elements`);
  const spatial = x.size / (B * C);
  const out = rt.empty(x.shape);
  rt.dispatch(GROUP_NORM, {
    bindings: [x, gamma, beta, out],
    uniforms: [u32(B * G), u32(G), u32(C / G), u32(spatial), f32(options.eps)],
    defines: { ...rt.storageDefines('X', x), ...rt.storageDefines('G', gamma), ...rt.storageDefines('B', beta) },
    constants: { WG, SILU: options.silu ? 1 : 0 },
    workgroups: B * G,
  });
  return out;
}
