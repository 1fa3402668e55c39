import type { GpuRuntime } from '../runtime.js';
import { emptyQuantized, uploadQuantized, writeQuantizedRows, writeQuantizedScaleRows, writeQuantizedValueBytes } from '../quantized-weights.js';
import type { QuantizedRows } from '../../quant/quantize.js';
import type { QuantScheme } from '../../quant/scheme.js';
import type { GpuTensor } from '../tensor.js';
import { attention } from './attention.js';
import { conv2d } from './conv2d.js';
import { toF16, toF32 } from './convert.js';
import { add, geglu, mul, scale, unary } from './elementwise.js';
import { groupNorm } from './group-norm.js';
import { layerNorm } from './layer-norm.js';
import { concatChannels, embedding, gatherRows, sliceBatch, transpose, upsampleNearest2x } from './layout.js';
import { linear, matmul } from './matmul.js';
import type {
  Activation,
  AttentionOptions,
  Conv2dOptions,
  GroupNormOptions,
  LinearOptions,
  MatmulOptions,
  TensorDType,
  TensorOps,
  TimestepEmbeddingOptions,
} from './ops.js';
import { softmax } from './softmax.js';
import { timestepEmbedding } from './timestep-embedding.js';

/**
 * `TensorOps` on the WebGPU runtime: each method delegates to its kernel family's binding in
 * `src/webgpu/kernels/<family>.ts`. Results are f32 tensors; f16 is a storage format for uploads.
 * Works unchanged on a plan-mode runtime.
 */
export class GpuOps implements TensorOps<GpuTensor> {
  constructor(readonly runtime: GpuRuntime) {}

  upload(data: Float32Array, shape: readonly number[], dtype: TensorDType = 'f32'): GpuTensor {
    return this.runtime.upload(data, shape, dtype);
  }

  /** A tensor that `writeElements` fills piece by piece (weights streamed to the device). */
  emptyForWrite(shape: readonly number[], dtype: TensorDType): GpuTensor {
    return this.runtime.emptyForWrite(shape, dtype);
  }

  writeElements(x: GpuTensor, offset: number, values: Float32Array): void {
    this.runtime.writeElements(x, offset, values);
  }

  /** A host weight quantized under `scheme` and uploaded (`quantized-weights.ts`). */
  uploadQuantized(data: Float32Array, shape: readonly number[], scheme: QuantScheme): GpuTensor {
    return uploadQuantized(this.runtime, data, shape, scheme);
  }

  /** A quantized weight that `writeQuantizedRows` fills batch by batch of rows (streamed and quantized on the host). */
  emptyQuantized(shape: readonly number[], scheme: QuantScheme): GpuTensor {
    return emptyQuantized(this.runtime, shape, scheme);
  }

  writeQuantizedRows(x: GpuTensor, firstRow: number, rows: QuantizedRows): void {
    writeQuantizedRows(this.runtime, x, firstRow, rows);
  }

  /** Packed values as a pre-quantized checkpoint stores them, at a whole-word `byteOffset` (`quantized-weights.ts`). */
  writeQuantizedValueBytes(x: GpuTensor, byteOffset: number, bytes: Uint8Array): void {
    writeQuantizedValueBytes(this.runtime, x, byteOffset, bytes);
  }

  /** The f16 scales (as bits) of whole rows from `firstRow`, as a pre-quantized checkpoint stores them. */
  writeQuantizedScaleRows(x: GpuTensor, firstRow: number, scales: Uint16Array): void {
    writeQuantizedScaleRows(this.runtime, x, firstRow, scales);
  }

  read(x: GpuTensor): Promise<Float32Array> {
    return this.runtime.read(x);
  }

  release(x: GpuTensor): void {
    this.runtime.release(x);
  }

  reshape(x: GpuTensor, shape: readonly number[]): GpuTensor {
    return this.runtime.reshape(x, shape);
  }

  /** A copy of x stored as `dtype`. */
  cast(x: GpuTensor, dtype: TensorDType): GpuTensor {
    return dtype === 'f16' ? toF16(this.runtime, x) : toF32(this.runtime, x);
  }

  linear(x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options?: LinearOptions): GpuTensor {
    return linear(this.runtime, x, weight, bias, options);
  }

  matmul(a: GpuTensor, b: GpuTensor, options: MatmulOptions = {}): GpuTensor {
    return matmul(this.runtime, a, b, { ...options, bias: options.bias as GpuTensor | undefined });
  }

  conv2d(x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options: Conv2dOptions = {}): GpuTensor {
    return conv2d(this.runtime, x, weight, bias, { ...options, residual: options.residual as GpuTensor | undefined, into: options.into as GpuTensor | undefined });
  }

  groupNorm(x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, options: GroupNormOptions): GpuTensor {
    return groupNorm(this.runtime, x, gamma, beta, options);
  }

  layerNorm(x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, eps: number): GpuTensor {
    return layerNorm(this.runtime, x, gamma, beta, eps);
  }

  attention(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: AttentionOptions): GpuTensor {
    return attention(this.runtime, q, k, v, options);
  }

  softmax(x: GpuTensor): GpuTensor {
    return softmax(this.runtime, x);
  }

  add(a: GpuTensor, b: GpuTensor): GpuTensor {
    return add(this.runtime, a, b);
  }

  mul(a: GpuTensor, b: GpuTensor): GpuTensor {
    return mul(this.runtime, a, b);
  }

  scale(a: GpuTensor, s: number, t?: number): GpuTensor {
    return scale(this.runtime, a, s, t);
  }

  unary(x: GpuTensor, fn: Activation | 'tanh'): GpuTensor {
    return unary(this.runtime, x, fn);
  }

  geglu(x: GpuTensor): GpuTensor {
    return geglu(this.runtime, x);
  }

  upsampleNearest2x(x: GpuTensor, size?: readonly [number, number]): GpuTensor {
    return upsampleNearest2x(this.runtime, x, size);
  }

  concatChannels(a: GpuTensor, b: GpuTensor): GpuTensor {
    return concatChannels(this.runtime, a, b);
  }

  transpose(x: GpuTensor): GpuTensor {
    return transpose(this.runtime, x);
  }

  sliceBatch(x: GpuTensor, start: number, end: number): GpuTensor {
    return sliceBatch(this.runtime, x, start, end);
  }

  timestepEmbedding(timesteps: readonly number[], dim: number, options: TimestepEmbeddingOptions): GpuTensor {
    return timestepEmbedding(this.runtime, timesteps, dim, options);
  }

  embedding(ids: Int32Array, idsShape: readonly [number, number], table: GpuTensor): GpuTensor {
    return embedding(this.runtime, ids, idsShape, table);
  }

  gatherRows(x: GpuTensor, positions: readonly number[]): GpuTensor {
    return gatherRows(this.runtime, x, positions);
  }
}
