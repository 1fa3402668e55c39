import source from '../../../shaders/matmul.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import { isQuantized, type GpuTensor, type QuantStorage, type TensorChunk } from '../tensor.js';
import { isActivation } from './activations.js';
import { ACTIVATION_CODE } from './epilogue.js';
import type { Activation, LinearOptions, MatmulOptions } from './ops.js';

/** `MatmulOptions` with the bias as a GPU tensor. */
export interface GpuMatmulOptions extends Omit<MatmulOptions, 'bias'> {
  bias?: GpuTensor;
}

const GEMM = defineKernel({ family: 'matmul', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read_write'] });
/**
 * The same kernel over a quantized weight (B_QUANT): a fifth storage slot holds its scales, so
 * its bind group layout differs from `GEMM`'s.
 */
const GEMM_Q = defineKernel({ family: 'matmul', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read_write', 'read'] });

/** Output tile of one workgroup: 8×8 threads of 4×4 outputs each (matmul.wgsl). */
const TILE = 32;

/** One GEMM dispatch: out[b, m, colOffset + n] = act(alpha · a[b] · B[b] + bias[colOffset + n]). */
interface Gemm {
  a: GpuTensor;
  /** The B operand: a whole tensor or one row chunk of a weight; its dtype is `bTensor`'s. */
  b: GpuTensor | TensorChunk;
  bTensor: GpuTensor;
  bias: GpuTensor | undefined;
  out: GpuTensor;
  M: number;
  N: number;
  K: number;
  batch: number;
  /** b is [N, K] rather than [K, N]. */
  transB: boolean;
  /** B is shared by every batch. */
  bBroadcast: boolean;
  ldOut: number;
  colOffset: number;
  alpha: number;
  act: Activation;
}

/** Flags of a quantized B: its bit width and how its f16 scales are read. */
function quantDefines(rt: GpuRuntime, quant: QuantStorage): Record<string, boolean> {
  return { B_QUANT: true, B_Q8: quant.bits === 8, B_Q4: quant.bits === 4, SCALE_F16: rt.shaderF16, SCALE_F16_PACKED: !rt.shaderF16 };
}

function recordGemm(rt: GpuRuntime, g: Gemm): void {
  const tilesN = Math.ceil(g.N / TILE);
  const tilesM = Math.ceil(g.M / TILE);
  // A quantized weight is dequantized in the kernel as it is read, never into a temporary.
  const quant = g.bTensor.quant;
  // An absent bias still needs a buffer in its slot; the shader does not declare it then.
  const bindings = [g.a, g.b, g.bias ?? g.a, g.out];
  rt.dispatch(quant ? GEMM_Q : GEMM, {
    bindings: quant ? [...bindings, quant.scales] : bindings,
    ...(quant ? { quantized: [1] } : {}),
    uniforms: {
      M: g.M,
      N: g.N,
      K: g.K,
      batch: g.batch,
      strideA: g.M * g.K,
      strideB: g.bBroadcast ? 0 : g.N * g.K,
      strideOut: g.M * g.ldOut,
      ldOut: g.ldOut,
      colOffset: g.colOffset,
      tilesN,
      tilesM,
      alpha: g.alpha,
      qGroupSize: quant?.groupSize ?? 0,
      qScaleStride: quant?.scaleStride ?? 0,
    },
    defines: {
      A_VEC: g.K % 4 === 0,
      B_VEC: !quant && (g.transB ? g.K % 4 === 0 : g.N % 4 === 0),
      TRANS_B: g.transB,
      OUT_VEC: g.N % 4 === 0 && g.ldOut % 4 === 0 && g.colOffset % 4 === 0,
      HAS_BIAS: g.bias !== undefined,
      A_F16: g.a.dtype === 'f16',
      ...rt.outputDefines(g.out),
      ...rt.storageDefines('B', g.bTensor),
      ...(g.bias ? rt.storageDefines('BIAS', g.bias) : {}),
      ...(quant ? quantDefines(rt, quant) : {}),
    },
    constants: { ACT: ACTIVATION_CODE[g.act] },
    workgroups: tilesN * tilesM * g.batch,
  });
}

function requireActivation(rt: GpuRuntime, t: GpuTensor, what: string): void {
  if (!isActivation(rt, t)) throw new TensorShapeError(`${what} [${t.shape}] is ${t.dtype}; activations must be f32, or f16 on a device with shader-f16`);
  if (t.chunks.length > 1) throw new TensorShapeError(`${what} [${t.shape}] is larger than one storage binding; split the rows before the matmul`);
}

function checkBias(bias: GpuTensor | undefined, N: number, op: string): void {
  if (bias && (bias.size !== N || (bias.dtype !== 'f32' && bias.dtype !== 'f16'))) {
    throw new TensorShapeError(`${op}: bias [${bias.shape}] ${bias.dtype} does not match N = ${N} (need ${N} f32 or f16 values)`);
  }
}

/**
 * Checks a quantized B (`q8`/`q4`, see `QuantScheme`): only a Linear weight `[N, K]` shared by
 * every batch, in one binding, with whole words per row, is read by the quantized kernel.
 */
function checkQuantized(b: GpuTensor, transB: boolean, bBroadcast: boolean, K: number, desc: string): void {
  if (!isQuantized(b.dtype)) return;
  if (!transB || !bBroadcast) throw new TensorShapeError(`${desc}: a ${b.dtype} b must be a 2-D transB weight [N, K] shared by every batch`);
  if (!b.quant || b.chunks.length !== 1 || K % 4 !== 0) throw new TensorShapeError(`${desc}: a ${b.dtype} weight needs K % 4 == 0, its scales and one binding`);
}

/**
 * x [..., K] · weight[N, K]ᵀ + bias[N] → [..., N], with the activation fused. `weight` may be
 * f16, or quantized (`q8`/`q4`: dequantized in the kernel), and an f32/f16 one may be larger than
 * one storage binding: each of its row chunks is one dispatch that writes its own column range
 * of the output.
 */
export function linear(rt: GpuRuntime, x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options: LinearOptions = {}): GpuTensor {
  requireActivation(rt, x, 'linear: x');
  const K = x.shape[x.shape.length - 1]!;
  if (weight.shape.length !== 2 || weight.shape[1] !== K || weight.dtype === 'i32') {
    throw new TensorShapeError(`linear: weight [${weight.shape}] ${weight.dtype} does not match x [${x.shape}] (need [N, ${K}] f32, f16, q8 or q4)`);
  }
  const N = weight.shape[0]!;
  checkQuantized(weight, true, true, K, `linear: x [${x.shape}] · weight [${weight.shape}]ᵀ`);
  checkBias(bias, N, 'linear');
  const rows = x.size / K;
  const out = rt.output([...x.shape.slice(0, -1), N]);
  for (const chunk of weight.chunks) {
    recordGemm(rt, {
      a: x,
      b: weight.chunks.length === 1 ? weight : chunk,
      bTensor: weight,
      bias,
      out,
      M: rows,
      N: chunk.elements / K,
      K,
      batch: 1,
      transB: true,
      bBroadcast: true,
      ldOut: N,
      colOffset: chunk.elementOffset / K,
      alpha: 1,
      act: options.act ?? 'none',
    });
  }
  return out;
}

/**
 * a [B, M, K] · b [B, K, N] (or [B, N, K] with `transB`) → [B, M, N], times `alpha`, plus bias[N],
 * then the activation. Without the batch dim on both it is a plain [M, K] · [K, N]; a 2-D `b`
 * with a 3-D `a` is shared by every batch. A 2-D `transB` operand may be chunked like a weight.
 */
export function matmul(rt: GpuRuntime, a: GpuTensor, b: GpuTensor, options: GpuMatmulOptions = {}): GpuTensor {
  requireActivation(rt, a, 'matmul: a');
  const transB = options.transB ?? false;
  const desc = `a [${a.shape}] · b [${b.shape}]${transB ? 'ᵀ' : ''}`;
  if ((a.shape.length !== 2 && a.shape.length !== 3) || (b.shape.length !== 2 && b.shape.length !== 3) || b.dtype === 'i32') {
    throw new TensorShapeError(`matmul: ${desc}: need 2-D or 3-D operands, b f32 or f16 (or a q8/q4 transB weight)`);
  }
  const batched = a.shape.length === 3;
  const batch = batched ? a.shape[0]! : 1;
  const [M, K] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const N = transB ? b0 : b1;
  const bBroadcast = b.shape.length === 2;
  if ((transB ? b1 : b0) !== K || (!bBroadcast && (!batched || b.shape[0] !== batch))) {
    throw new TensorShapeError(`matmul: ${desc}: inner dims or batch sizes differ`);
  }
  checkQuantized(b, transB, bBroadcast, K, `matmul: ${desc}`);
  checkBias(options.bias, N, 'matmul');
  if (b.chunks.length > 1 && (!transB || !bBroadcast)) {
    throw new TensorShapeError(`matmul: b [${b.shape}] is larger than one storage binding; only a 2-D transB operand (a weight) can be split`);
  }
  const out = rt.output(batched ? [batch, M, N] : [M, N]);
  const split = b.chunks.length > 1;
  for (const chunk of b.chunks) {
    recordGemm(rt, {
      a,
      b: split ? chunk : b,
      bTensor: b,
      bias: options.bias,
      out,
      M,
      N: split ? chunk.elements / K : N,
      K,
      batch,
      transB,
      bBroadcast,
      ldOut: N,
      colOffset: split ? chunk.elementOffset / K : 0,
      alpha: options.alpha ?? 1,
      act: options.act ?? 'none',
    });
  }
  return out;
}
