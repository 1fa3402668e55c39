import src from '../../../shaders/elementwise.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { segments } from '../channel-runs.js';
import type { Activation } from './ops.js';

const WG = 256;
const BINARY = defineKernel({ family: 'elementwise', entryPoint: 'binary', source: src, storage: ['read', 'read', 'read_write'] });
const SCALE_SHIFT = defineKernel({ family: 'elementwise', entryPoint: 'scale_shift', source: src, storage: ['read', 'read_write'] });
const UNARY = defineKernel({ family: 'elementwise', entryPoint: 'unary', source: src, storage: ['read', 'read_write'] });
const GEGLU = defineKernel({ family: 'elementwise', entryPoint: 'geglu', source: src, storage: ['read', 'read_write'] });

/** `ACT` override values of elementwise.wgsl. */
const ACT_CODES: Record<Activation | 'tanh', number> = { none: 0, silu: 1, gelu: 2, quick_gelu: 3, relu: 4, tanh: 5 };

/** How `b` is indexed for element i of `a`: same shape (0), a prefix of a's shape (1, b[i / inner]), a suffix (2, b[i % m]). */
function broadcastMode(a: readonly number[], b: readonly number[], op: string): { mode: number; inner: number } {
  const same = a.length === b.length && a.every((d, i) => d === b[i]);
  if (same) return { mode: 0, inner: 1 };
  if (b.length < a.length && b.every((d, i) => d === a[i])) return { mode: 1, inner: a.slice(b.length).reduce((p, d) => p * d, 1) };
  if (b.length < a.length && b.every((d, i) => d === a[a.length - b.length + i])) return { mode: 2, inner: 1 };
  throw new TensorShapeError(`${op}: cannot broadcast [${b}] onto [${a}] (b must equal a, or be a prefix or suffix of a's shape)`);
}

function binary(rt: GpuRuntime, a: GpuTensor, b: GpuTensor, op: 'add' | 'mul'): GpuTensor {
  const { mode, inner } = broadcastMode(a.shape, b.shape, op);
  const out = rt.output(a.shape);
  const desc = `${op}: [${a.shape}] ${a.dtype} and [${b.shape}] ${b.dtype}`;
  // A broadcast b is small and bound whole; a same-shape b is split with a and out.
  for (const seg of segments(mode === 0 ? [a, out, b] : [a, out], desc)) {
    const [pa, po, pb] = seg.parts;
    rt.dispatch(BINARY, {
      bindings: [pa!.chunk, pb ? pb.chunk : b, po!.chunk],
      uniforms: { n: seg.elements, m: b.size, mode, inner, offset: seg.start, a_base: pa!.base, b_base: pb?.base ?? 0, out_base: po!.base },
      defines: { ...rt.storageDefines('A', a), ...rt.storageDefines('B', b), ...rt.outputDefines(out) },
      constants: { WG, OP: op === 'add' ? 0 : 1 },
      workgroups: Math.ceil(seg.elements / WG),
    });
  }
  return out;
}

/** a + b, with b equal to a's shape or broadcast as a prefix/suffix of it (see `TensorOps.add`). */
export function add(rt: GpuRuntime, a: GpuTensor, b: GpuTensor): GpuTensor {
  return binary(rt, a, b, 'add');
}

/** a * b, broadcasting as `add`. */
export function mul(rt: GpuRuntime, a: GpuTensor, b: GpuTensor): GpuTensor {
  return binary(rt, a, b, 'mul');
}

/** a * s + t. */
export function scale(rt: GpuRuntime, a: GpuTensor, s: number, t = 0): GpuTensor {
  const out = rt.output(a.shape);
  for (const seg of segments([a, out], `scale: [${a.shape}] ${a.dtype}`)) {
    const [px, po] = seg.parts;
    rt.dispatch(SCALE_SHIFT, {
      bindings: [px!.chunk, po!.chunk],
      uniforms: { n: seg.elements, s, t, x_base: px!.base, out_base: po!.base },
      defines: { ...rt.storageDefines('X', a), ...rt.outputDefines(out) },
      constants: { WG },
      workgroups: Math.ceil(seg.elements / WG),
    });
  }
  return out;
}

/** An activation applied elementwise. */
export function unary(rt: GpuRuntime, x: GpuTensor, fn: Activation | 'tanh'): GpuTensor {
  const out = rt.output(x.shape);
  for (const seg of segments([x, out], `${fn}: [${x.shape}] ${x.dtype}`)) {
    const [px, po] = seg.parts;
    rt.dispatch(UNARY, {
      bindings: [px!.chunk, po!.chunk],
      uniforms: { n: seg.elements, m: 0, mode: 0, inner: 0, offset: 0, a_base: px!.base, b_base: 0, out_base: po!.base },
      defines: { ...rt.storageDefines('X', x), ...rt.outputDefines(out) },
      constants: { WG, ACT: ACT_CODES[fn] },
      workgroups: Math.ceil(seg.elements / WG),
    });
  }
  return out;
}

/** x [..., 2N] → x[..., :N] * gelu(x[..., N:]). */
export function geglu(rt: GpuRuntime, x: GpuTensor): GpuTensor {
  const last = x.shape[x.shape.length - 1] ?? 0;
  if (last % 2 !== 0) throw new TensorShapeError(`geglu: last dim of [${x.shape}] must be even`);
  const half = last / 2;
  const out = rt.output([...x.shape.slice(0, -1), half]);
  rt.dispatch(GEGLU, {
    bindings: [x, out],
    uniforms: { n: out.size, m: half, mode: 0, inner: 0, offset: 0, a_base: 0, b_base: 0, out_base: 0 },
    defines: { ...rt.storageDefines('X', x), ...rt.outputDefines(out) },
    constants: { WG },
    workgroups: Math.ceil(out.size / WG),
  });
  return out;
}
