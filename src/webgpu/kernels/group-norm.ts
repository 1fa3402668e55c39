import src from '../../../shaders/group-norm.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { segments } from '../channel-runs.js';
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
  const cpg = C / G;
  const groupElements = cpg * spatial;
  const out = rt.output(x.shape);
  const desc = `groupNorm: x [${x.shape}] ${x.dtype}`;
  // Chunks hold whole groups (planChunks splits samples into power-of-two channel runs), so
  // each group's statistics are over the whole group, exactly as unchunked.
  for (const seg of segments([x, out], desc)) {
    if (seg.start % groupElements !== 0 || seg.elements % groupElements !== 0) {
      const c0 = (seg.start % (C * spatial)) / spatial;
      throw new TensorShapeError(`${desc}: a chunk boundary at channel ${c0} splits a group of ${cpg} channels; use a smaller size or a device with a larger maxStorageBufferBindingSize`);
    }
    const [px, po] = seg.parts;
    const groups = seg.elements / groupElements;
    rt.dispatch(GROUP_NORM, {
      bindings: [px!.chunk, gamma, beta, po!.chunk],
      uniforms: { groups_total: groups, channels: C, cpg, spatial, eps: options.eps, c_base: (seg.start / spatial) % C, x_base: px!.base, out_base: po!.base },
      defines: { ...rt.storageDefines('X', x), ...rt.storageDefines('G', gamma), ...rt.storageDefines('B', beta), ...rt.outputDefines(out) },
      constants: { WG, SILU: options.silu ? 1 : 0 },
      workgroups: groups,
    });
  }
  return out;
}
