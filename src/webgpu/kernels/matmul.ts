import source from '../../../shaders/matmul.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor, TensorChunk } from '../tensor.js';
import { isActivation } from './activations.js';
import { ACTIVATION_CODE } from './epilogue.js';
import type { Activation, LinearOptions, MatmulOptions } from './ops.js';

/** `MatmulOptions` with the bias as a GPU tensor. */
export interface GpuMatmulOptions extends Omit<MatmulOptions, 'bias'> {
  bias?: GpuTensor;
}

const GEMM = defineKernel({ family: 'matmul', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read_write'] });

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

function recordGemm(rt: GpuRuntime, g: Gemm): void {
  const tilesN = Math.ceil(g.N / TILE);
  const tilesM = Math.ceil(g.M / TILE);
  rt.dispatch(GEMM, {
    // An absent bias still needs a buffer in its slot; the shader does not declare it then.
    bindings: [g.a, g.b, g.bias ?? g.a, g.out],
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
    },
    defines: {
      A_VEC: g.K % 4 === 0,
      B_VEC: g.transB ? g.K % 4 === 0 : g.N % 4 === 0,
      TRANS_B: g.transB,
      OUT_VEC: g.N % 4 === 0 && g.ldOut % 4 === 0 && g.colOffset % 4 === 0,
      HAS_BIAS: g.bias !== undefined,
      A_F16: g.a.dtype === 'f16',
      ...rt.outputDefines(g.out),
      ...rt.storageDefines('B', g.bTensor),
      ...(g.bias ? rt.storageDefines('BIAS', g.bias) : {}),
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
  if (bias && (bias.size !== N || bias.dtype === 'i32')) {
    throw new TensorShapeError(`${op}: bias [${bias.shape}] ${bias.dtype} does not match N = ${N} (need ${N} f32 or f16 values)`);
  }
}

/**
 * x [..., K] · weight[N, K]ᵀ + bias[N] → [..., N], with the activation fused. `weight` may be
 * f16, and may be larger than one storage binding: each of its row chunks is one dispatch that
 * writes its own column range of the output.
 */
export function linear(rt: GpuRuntime, x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options: LinearOptions = {}): GpuTensor {
  requireActivation(rt, x, 'linear: x');
  const K = x.shape[x.shape.length - 1]!;
  if (weight.shape.length !== 2 || weight.shape[1] !== K || weight.dtype === 'i32') {
    throw new TensorShapeError(`linear: weight [${weight.shape}] ${weight.dtype} does not match x [${x.shape}] (need [N, ${K}] f32 or f16)`);
  }
  const N = weight.shape[0]!;
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
    throw new TensorShapeError(`matmul: ${desc}: need 2-D or 3-D operands, b f32 or f16`);
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
