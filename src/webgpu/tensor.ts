import type { TensorLike } from './kernels/ops.js';
import { TensorReleasedError, TensorShapeError } from './errors.js';
import type { PooledBuffer } from './buffer-pool.js';

/**
 * Storage element type. `i32` holds token ids and gather indices; `f16` is a storage format
 * (kernels compute in f32); `q8` and `q4` are quantized weights (`QuantScheme`: packed values
 * here, their scales in `TensorStorage.quant`), read only by the kernels that dequantize them.
 */
export type GpuDType = 'f32' | 'f16' | 'i32' | 'q8' | 'q4';

/** Bytes per element of a dtype (half a byte for `q4`). */
export function bytesPerElement(dtype: GpuDType): number {
  switch (dtype) {
    case 'f16':
      return 2;
    case 'q8':
      return 1;
    case 'q4':
      return 0.5;
    default:
      return 4;
  }
}

/** Whether a dtype holds quantized weights. */
export function isQuantized(dtype: GpuDType): dtype is 'q8' | 'q4' {
  return dtype === 'q8' || dtype === 'q4';
}

/**
 * The scales of a quantized weight (see `QuantScheme`): f16, one row of `scaleStride` per weight
 * row (`groupsPerRow` rounded up to even, so each row is whole u32 words and rows can be written
 * one batch at a time).
 */
export interface QuantStorage {
  readonly bits: 8 | 4;
  readonly groupSize: number;
  readonly groupsPerRow: number;
  readonly scaleStride: number;
  readonly scales: TensorChunk;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * One GPU buffer holding a contiguous run of a tensor's elements. Tensors larger than the
 * device's `maxStorageBufferBindingSize` are split into several chunks, each bindable on its
 * own: whole rows along dim 0 of the shape they were created with, or, when one row is too
 * large, channel ranges of one row (see `planChunks`).
 */
export interface TensorChunk {
  /** The buffer, or null in plan mode. */
  readonly buffer: GPUBuffer | null;
  /** First element of the tensor this chunk holds. */
  readonly elementOffset: number;
  /** Elements in this chunk. */
  readonly elements: number;
  /** Bytes a binding of this chunk covers (the data rounded up to 4 bytes). */
  readonly byteSize: number;
  /** Packed values of a quantized weight: only kernels that dequantize may bind it. */
  readonly quantized?: true;
}

/** Shared, reference-counted storage behind a tensor and its reshaped views. */
export class TensorStorage {
  #refs = 1;
  constructor(
    readonly dtype: GpuDType,
    readonly elements: number,
    readonly chunks: readonly TensorChunk[],
    /** The pooled buffers behind `chunks` (and a quantized weight's scales), handed back when the last view is released. */
    readonly pooled: readonly PooledBuffer[],
    /** A quantized weight's scales; null for every other tensor. */
    readonly quant: QuantStorage | null = null,
  ) {}

  get released(): boolean {
    return this.#refs === 0;
  }

  retain(): void {
    this.#refs++;
  }

  /**
   * Drops every reference at once (the work that held them failed); true when the storage was
   * still live and its buffers may be recycled. Views released later recycle nothing.
   */
  abandon(): boolean {
    const live = this.#refs > 0;
    this.#refs = 0;
    return live;
  }

  /** Drops one reference; true when that was the last one and the buffers may be recycled. */
  drop(): boolean {
    if (this.#refs === 0) return false;
    this.#refs--;
    return this.#refs === 0;
  }
}

/**
 * A tensor on the GPU: shape, dtype and storage. `reshape` gives a view on the same storage;
 * storage is freed when every view has been released.
 */
export class GpuTensor implements TensorLike {
  readonly shape: readonly number[];
  #storage: TensorStorage;
  #released = false;

  constructor(shape: readonly number[], storage: TensorStorage) {
    if (numel(shape) !== storage.elements) {
      throw new TensorShapeError(`GpuTensor: shape [${shape}] has ${numel(shape)} elements, storage has ${storage.elements}`);
    }
    this.shape = Object.freeze([...shape]);
    this.#storage = storage;
  }

  get dtype(): GpuDType {
    return this.#storage.dtype;
  }

  /** A quantized weight's scales and scheme; null for every other tensor. */
  get quant(): QuantStorage | null {
    return this.#storage.quant;
  }

  /** Element count. */
  get size(): number {
    return this.#storage.elements;
  }

  /** The storage, checked to be alive. */
  get storage(): TensorStorage {
    if (this.#released) throw new TensorReleasedError(`GpuTensor [${this.shape}] ${this.dtype} was used after release()`);
    return this.#storage;
  }

  /** The tensor's chunks (one unless the tensor is larger than one binding). */
  get chunks(): readonly TensorChunk[] {
    return this.storage.chunks;
  }

  get isReleased(): boolean {
    return this.#released;
  }

  /** Marks this view released; true when the storage lost its last view. */
  markReleased(): boolean {
    if (this.#released) throw new TensorReleasedError(`GpuTensor [${this.shape}] ${this.dtype} was released twice`);
    this.#released = true;
    return this.#storage.drop();
  }

  /** A view with another shape of the same element count on the same storage. */
  view(shape: readonly number[]): GpuTensor {
    const storage = this.storage;
    if (numel(shape) !== storage.elements) {
      throw new TensorShapeError(`reshape [${this.shape}] → [${shape}]: ${storage.elements} elements cannot take shape of ${numel(shape)}`);
    }
    storage.retain();
    return new GpuTensor(shape, storage);
  }
}

/** How a tensor of `shape` is split into chunks no larger than `maxBindingBytes`. */
export interface ChunkPlan {
  readonly elementOffset: number;
  readonly elements: number;
  readonly byteSize: number;
}

/**
 * Splits a tensor into the fewest chunks that each fit one binding. Chunks are whole rows along
 * dim 0 when one row fits; when a row alone is over the limit (a [1, 256, 512, 512] f32 VAE
 * activation is 256 MiB), each row is split along dim 1 into runs of a power-of-two number of
 * planes (`shape[2:]`), so a chunk is a channel range of one sample and channel groups of any
 * power-of-two size (GroupNorm's) never straddle two chunks. f16 chunks start on an even element
 * so each chunk's packed u32 words belong to it alone.
 */
export function planChunks(shape: readonly number[], dtype: GpuDType, maxBindingBytes: number): ChunkPlan[] {
  const elements = numel(shape);
  const bpe = bytesPerElement(dtype);
  const whole = align4(elements * bpe);
  if (whole <= maxBindingBytes) return [{ elementOffset: 0, elements, byteSize: whole }];
  const rows = shape[0] ?? 1;
  const rowElements = elements / rows;
  let rowsPerChunk = Math.floor(maxBindingBytes / (rowElements * bpe));
  if (dtype === 'f16' && rowElements % 2 === 1 && rowsPerChunk % 2 === 1) rowsPerChunk--;
  if (rowsPerChunk >= 1) return runs(rows, rowsPerChunk, rowElements, 0, bpe);
  const channels = shape[1] ?? 1;
  const planeElements = rowElements / channels;
  const fit = Math.floor(maxBindingBytes / (planeElements * bpe));
  const planesPerChunk = fit >= 1 ? 2 ** Math.floor(Math.log2(fit)) : 0;
  if (shape.length < 3 || planesPerChunk < 1 || (dtype === 'f16' && planeElements % 2 === 1 && planesPerChunk % 2 === 1)) {
    throw new TensorShapeError(
      `tensor [${shape}] ${dtype}: one ${shape.length < 3 ? 'row along dim 0' : 'plane along dim 1'} is ${(shape.length < 3 ? rowElements : planeElements) * bpe} bytes, more than maxStorageBufferBindingSize = ${maxBindingBytes}; use a smaller size, or request a device with a larger limit`,
    );
  }
  const out: ChunkPlan[] = [];
  for (let r = 0; r < rows; r++) out.push(...runs(channels, planesPerChunk, planeElements, r * rowElements, bpe));
  return out;
}

/** `count` units of `unitElements` from `base`, `perChunk` units a chunk. */
function runs(count: number, perChunk: number, unitElements: number, base: number, bpe: number): ChunkPlan[] {
  const out: ChunkPlan[] = [];
  for (let u = 0; u < count; u += perChunk) {
    const n = Math.min(perChunk, count - u) * unitElements;
    out.push({ elementOffset: base + u * unitElements, elements: n, byteSize: align4(n * bpe) });
  }
  return out;
}

/** Rounds a byte count up to a multiple of 4 (copies and bindings need it). */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
