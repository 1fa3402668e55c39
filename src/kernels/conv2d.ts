import source from '../../shaders/conv2d.wgsl?raw';
import { TensorShapeError } from '../gpu/errors.js';
import { defineKernel, u32 } from '../gpu/kernel.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { ACTIVATION_CODE } from './epilogue.js';
import type { Conv2dOptions } from './ops.js';

/** `Conv2dOptions` with the residual as a GPU tensor. */
export interface GpuConv2dOptions extends Omit<Conv2dOptions, 'residual'> {
  residual?: GpuTensor;
}

const CONV = defineKernel({ family: 'conv2d', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read', 'read_write'] });

/** One workgroup covers 64 output channels × 32 output pixels (8×8 threads of 8 channels × 4 pixels, conv2d.wgsl). */
const TILE_C = 64;
const TILE_P = 32;

/**
 * x [B, Cin, H, W] * weight [Cout, Cin, k, k] (k = 1 or 3) → [B, Cout, Ho, Wo], as an implicit
 * GEMM: out = act(conv + bias) + residual. Padding defaults to 1 for 3×3 and 0 for 1×1, as in
 * the reference; `padEnd` adds zeros after the bottom and right edges only. `weight` and `bias`
 * may be f16.
 */
export function conv2d(rt: GpuRuntime, x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options: GpuConv2dOptions = {}): GpuTensor {
  const desc = `conv2d: x [${x.shape}] ${x.dtype}, weight [${weight.shape}] ${weight.dtype}`;
  if (x.shape.length !== 4 || x.dtype !== 'f32') throw new TensorShapeError(`${desc}: x must be f32 [B, Cin, H, W]`);
  const [B, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cout, Cw, kh, kw] = weight.shape as [number, number, number, number];
  if (weight.shape.length !== 4 || Cw !== Cin || kh !== kw || (kh !== 1 && kh !== 3) || weight.dtype === 'i32') {
    throw new TensorShapeError(`${desc}: weight must be f32 or f16 [Cout, ${Cin}, k, k] with k = 1 or 3`);
  }
  const k = kh;
  const stride = options.stride ?? 1;
  const pad = options.padding ?? (k === 3 ? 1 : 0);
  const padEnd = options.padEnd ?? 0;
  if ((stride !== 1 && stride !== 2) || (pad !== 0 && pad !== 1) || (padEnd !== 0 && padEnd !== 1)) {
    throw new TensorShapeError(`${desc}: stride ${stride}, padding ${pad}, padEnd ${padEnd}; supported: stride 1 or 2, padding and padEnd 0 or 1`);
  }
  // The shader masks every tap outside the input, so end padding only changes the output size.
  const Ho = Math.floor((H + 2 * pad + padEnd - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad + padEnd - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new TensorShapeError(`${desc}: a ${k}×${k} kernel with padding ${pad} does not fit a ${H}×${W} input`);
  if (bias && (bias.size !== Cout || bias.dtype === 'i32')) throw new TensorShapeError(`${desc}: bias [${bias.shape}] ${bias.dtype} must hold ${Cout} f32 or f16 values`);
  const residual = options.residual;
  const outShape = [B, Cout, Ho, Wo];
  if (residual && (residual.dtype !== 'f32' || residual.shape.join() !== outShape.join())) {
    throw new TensorShapeError(`${desc}: residual [${residual.shape}] ${residual.dtype} must be f32 [${outShape}]`);
  }
  const P = Ho * Wo;
  const tilesP = Math.ceil(P / TILE_P);
  const tilesC = Math.ceil(Cout / TILE_C);
  const out = rt.empty(outShape);
  rt.dispatch(CONV, {
    // Absent bias/residual slots still need a buffer; the shader does not declare them then.
    bindings: [x, weight, bias ?? x, residual ?? x, out],
    uniforms: [u32(Cin), u32(H), u32(W), u32(Cout), u32(Ho), u32(Wo), u32(B), u32(tilesP), u32(tilesC)],
    defines: {
      X_VEC: k === 1 && stride === 1 && pad === 0 && padEnd === 0 && (H * W) % 4 === 0,
      OUT_VEC: P % 4 === 0,
      HAS_BIAS: bias !== undefined,
      HAS_RESIDUAL: residual !== undefined,
      ...rt.storageDefines('W', weight),
      ...(bias ? rt.storageDefines('BIAS', bias) : {}),
    },
    constants: { KSIZE: k, STRIDE: stride, PAD: pad, ACT: ACTIVATION_CODE[options.act ?? 'none'] },
    workgroups: tilesP * tilesC * B,
  });
  return out;
}
