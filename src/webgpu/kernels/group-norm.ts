import src from '../../../shaders/group-norm.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { rangeSegments, segments, type Segment } from '../channel-runs.js';
import type { GroupNormOptions } from './ops.js';

const WG = 256;
const GROUP_NORM = defineKernel({ family: 'group-norm', entryPoint: 'group_norm', source: src, storage: ['read', 'read', 'read', 'read_write'] });

/**
 * x [B, C, ...] normalised per (batch, group) over C/groups × spatial (two-pass, f32), affine per
 * channel, optional SiLU; with `channels` [c0, c1) only those whole groups, into [B, c1 − c0, ...].
 */
export function groupNorm(rt: GpuRuntime, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, options: GroupNormOptions): GpuTensor {
  const [B = 1, C = 1] = x.shape;
  const G = options.groups;
  if (x.shape.length < 2 || C % G !== 0) throw new TensorShapeError(`groupNorm: x [${x.shape}] needs [B, C, ...] with C divisible by ${G} groups`);
  const affine = options.affineOffset ?? 0;
  if (!Number.isInteger(affine) || affine < 0 || gamma.size !== beta.size || gamma.size < affine + C || (options.affineOffset === undefined && gamma.size !== C)) {
    throw new TensorShapeError(`groupNorm: gamma [${gamma.shape}] / beta [${beta.shape}] must have ${C} elements${options.affineOffset === undefined ? '' : ` after affineOffset ${affine}`}`);
  }
  const spatial = x.size / (B * C);
  const cpg = C / G;
  const groupElements = cpg * spatial;
  const desc = `groupNorm: x [${x.shape}] ${x.dtype}`;
  const [c0, c1] = options.channels ?? [0, C];
  if (!(Number.isInteger(c0) && Number.isInteger(c1) && c0 >= 0 && c0 < c1 && c1 <= C && c0 % cpg === 0 && c1 % cpg === 0)) {
    throw new TensorShapeError(`${desc}: channels [${c0}, ${c1}) must be whole groups of ${cpg} channels within ${C}`);
  }
  const out = rt.output([B, c1 - c0, ...x.shape.slice(2)]);
  const dispatch = (seg: Segment, channels: number, cBase: number, gammaBase: number) => {
    // Chunks hold whole groups (planChunks splits samples into power-of-two channel runs), so
    // each group's statistics are over the whole group, exactly as unchunked.
    if (seg.start % groupElements !== 0 || seg.elements % groupElements !== 0) {
      throw new TensorShapeError(`${desc}: a chunk boundary at channel ${gammaBase + cBase} splits a group of ${cpg} channels; use a smaller size or a device with a larger maxStorageBufferBindingSize`);
    }
    const [px, po] = seg.parts;
    const groups = seg.elements / groupElements;
    rt.dispatch(GROUP_NORM, {
      bindings: [px!.chunk, gamma, beta, po!.chunk],
      uniforms: { groups_total: groups, channels, cpg, spatial, eps: options.eps, c_base: cBase, gamma_base: gammaBase, x_base: px!.base, out_base: po!.base },
      defines: { ...rt.storageDefines('X', x), ...rt.storageDefines('G', gamma), ...rt.storageDefines('B', beta), ...rt.outputDefines(out) },
      constants: { WG, SILU: options.silu ? 1 : 0 },
      workgroups: groups,
    });
  };
  if (c0 === 0 && c1 === C) {
    for (const seg of segments([x, out], desc)) dispatch(seg, C, (seg.start / spatial) % C, affine);
    return out;
  }
  // A channel range: one range of elements per sample, at c0 in x and at the sample's start in out.
  const n = (c1 - c0) * spatial;
  for (let b = 0; b < B; b++) {
    const ranges = [{ tensor: x, start: (b * C + c0) * spatial }, { tensor: out, start: b * n }];
    for (const seg of rangeSegments(ranges, n)) dispatch(seg, c1 - c0, seg.start / spatial, affine + c0);
  }
  return out;
}
