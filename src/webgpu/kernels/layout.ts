import src from '../../../shaders/layout.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { toF32 } from './convert.js';

const WG = 256;
const UPSAMPLE = defineKernel({ family: 'layout', entryPoint: 'upsample_nearest', source: src, storage: ['read', 'read_write'] });
const CONCAT = defineKernel({ family: 'layout', entryPoint: 'concat_channels', source: src, storage: ['read', 'read', 'read_write'] });
const TRANSPOSE = defineKernel({ family: 'layout', entryPoint: 'transpose', source: src, storage: ['read', 'read_write'] });
const GATHER = defineKernel({ family: 'layout', entryPoint: 'gather_rows', source: src, storage: ['read', 'read', 'read_write'] });

function launch(size: number): number {
  return Math.ceil(size / WG);
}

/**
 * Nearest-neighbour upsampling of [B, C, H, W] to 2H×2W, or to `size` [H', W'] (PyTorch's
 * `interpolate(size=…, mode="nearest")`: output row y reads row floor(y · f32(H / H'))).
 */
export function upsampleNearest2x(rt: GpuRuntime, x: GpuTensor, size?: readonly [number, number]): GpuTensor {
  if (x.shape.length !== 4) throw new TensorShapeError(`upsampleNearest2x: x [${x.shape}] must be [B, C, H, W]`);
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const [OH, OW] = size ?? [2 * H, 2 * W];
  if (!(Number.isInteger(OH) && Number.isInteger(OW) && OH >= 1 && OW >= 1)) throw new TensorShapeError(`upsampleNearest2x: size [${OH}, ${OW}] must be positive integers`);
  const out = rt.output([B, C, OH, OW]);
  const plane = H * W;
  const outPlane = OH * OW;
  const scales = { scale_h: Math.fround(H / OH), scale_w: Math.fround(W / OW) };
  // Every chunk holds whole planes; each dispatch covers the planes one input chunk and one
  // output chunk share (output planes are larger, so one output chunk may draw on several input chunks).
  for (const o of out.chunks) {
    const o0 = o.elementOffset / outPlane;
    const o1 = o0 + o.elements / outPlane;
    for (const a of x.chunks) {
      const a0 = a.elementOffset / plane;
      const first = Math.max(o0, a0);
      const end = Math.min(o1, a0 + a.elements / plane);
      if (first >= end) continue;
      const n = (end - first) * outPlane;
      rt.dispatch(UPSAMPLE, {
        bindings: [a, o],
        uniforms: { n, h: H, w: W, oh: OH, ow: OW, in_plane: first - a0, out_base: (first - o0) * outPlane, ...scales },
        defines: { ...rt.storageDefines('A', x), ...rt.outputDefines(out) },
        constants: { WG },
        workgroups: launch(n),
      });
    }
  }
  return out;
}

/** [B, Ca, ...] ++ [B, Cb, ...] along dim 1. */
export function concatChannels(rt: GpuRuntime, a: GpuTensor, b: GpuTensor): GpuTensor {
  const same = a.shape.length === b.shape.length && a.shape.length >= 2 && a.shape.every((d, i) => i === 1 || d === b.shape[i]);
  if (!same) throw new TensorShapeError(`concatChannels: [${a.shape}] and [${b.shape}] differ outside dim 1`);
  const B = a.shape[0]!;
  const out = rt.output([B, a.shape[1]! + b.shape[1]!, ...a.shape.slice(2)]);
  rt.dispatch(CONCAT, {
    bindings: [a, b, out],
    uniforms: { n: out.size, p0: a.size / B, p1: b.size / B },
    defines: { ...rt.storageDefines('A', a), ...rt.storageDefines('B', b), ...rt.outputDefines(out) },
    constants: { WG },
    workgroups: launch(out.size),
  });
  return out;
}

/** [B, M, N] → [B, N, M]; a 2-D tensor is taken as B = 1. */
export function transpose(rt: GpuRuntime, x: GpuTensor): GpuTensor {
  if (x.shape.length !== 2 && x.shape.length !== 3) throw new TensorShapeError(`transpose: x [${x.shape}] must be [M, N] or [B, M, N]`);
  const [M, N] = x.shape.slice(-2) as [number, number];
  const out = rt.output([...x.shape.slice(0, -2), N, M]);
  rt.dispatch(TRANSPOSE, {
    bindings: [x, out],
    uniforms: { n: out.size, p0: M, p1: N },
    defines: { ...rt.storageDefines('A', x), ...rt.outputDefines(out) },
    constants: { WG },
    workgroups: launch(out.size),
  });
  return out;
}

/** Rows [start, end) of dim 0, as a new f32 tensor. */
export function sliceBatch(rt: GpuRuntime, x: GpuTensor, start: number, end: number): GpuTensor {
  const rows = x.shape[0] ?? 0;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= rows)) {
    throw new TensorShapeError(`sliceBatch: [${start}, ${end}) is not a range of dim 0 of [${x.shape}]`);
  }
  const rowSize = x.size / rows;
  const shape = [end - start, ...x.shape.slice(1)];
  if (x.dtype !== 'f32') return toF32(rt, x, start * rowSize, shape);
  const out = rt.empty(shape);
  rt.copyElements(x, start * rowSize, out, 0, out.size);
  return out;
}

/**
 * out[r] = table[rows[r]] for a table [V, C] (possibly chunked: one dispatch per chunk that
 * holds a requested row). Row indices are host values, checked here.
 */
function gather(rt: GpuRuntime, table: GpuTensor, rows: readonly number[], outShape: readonly number[], what: string): GpuTensor {
  const V = table.shape[0]!;
  const C = table.size / V;
  const bad = rows.find((r) => !Number.isInteger(r) || r < 0 || r >= V);
  if (bad !== undefined) throw new TensorShapeError(`${what}: row ${bad} outside [0, ${V}) of [${table.shape}]`);
  const out = rt.output(outShape);
  for (const chunk of table.chunks) {
    if (chunk.elementOffset % C !== 0) throw new TensorShapeError(`${what}: table [${table.shape}] chunks are not whole rows`);
    const first = chunk.elementOffset / C;
    const last = first + chunk.elements / C;
    const pairs: number[] = [];
    rows.forEach((r, dst) => {
      if (r >= first && r < last) pairs.push(r - first, dst);
    });
    if (!pairs.length) continue;
    const pairTensor = rt.upload(Int32Array.from(pairs), [pairs.length / 2, 2]);
    rt.dispatch(GATHER, {
      bindings: [chunk, pairTensor, out],
      uniforms: { n: (pairs.length / 2) * C, p0: C, p1: 0 },
      defines: { ...rt.storageDefines('A', table), ...rt.outputDefines(out) },
      constants: { WG },
      workgroups: launch((pairs.length / 2) * C),
    });
    rt.release(pairTensor);
  }
  return out;
}

/** table [V, C] at ids [B, L] → [B, L, C]. */
export function embedding(rt: GpuRuntime, ids: Int32Array, idsShape: readonly [number, number], table: GpuTensor): GpuTensor {
  if (ids.length !== idsShape[0] * idsShape[1]) throw new TensorShapeError(`embedding: ${ids.length} ids for shape [${idsShape}]`);
  return gather(rt, table, Array.from(ids), [idsShape[0], idsShape[1], table.size / table.shape[0]!], 'embedding');
}

/** x [B, L, C] at one position per batch row → [B, C]. */
export function gatherRows(rt: GpuRuntime, x: GpuTensor, positions: readonly number[]): GpuTensor {
  if (x.shape.length !== 3 || positions.length !== x.shape[0]) throw new TensorShapeError(`gatherRows: x [${x.shape}] with ${positions.length} positions`);
  const [B, L, C] = x.shape as [number, number, number];
  const bad = positions.find((p) => !Number.isInteger(p) || p < 0 || p >= L);
  if (bad !== undefined) throw new TensorShapeError(`gatherRows: position ${bad} outside [0, ${L})`);
  const rows = rt.reshape(x, [B * L, C]);
  const out = gather(rt, rows, positions.map((p, b) => b * L + p), [B, C], 'gatherRows');
  rt.release(rows);
  return out;
}
