import type { TensorLike } from '../kernels/ops.js';
import { TensorReleasedError, TensorShapeError } from './errors.js';
import type { PooledBuffer } from './buffer-pool.js';

/** Storage element type. `i32` holds token ids and gather indices; `f16` is a storage format (kernels compute in f32). */
export type GpuDType = 'f32' | 'f16' | 'i32';

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: GpuDType): number {
  return dtype === 'f16' ? 2 : 4;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * One GPU buffer holding a contiguous run of a tensor's elements. Tensors larger than the
 * device's `maxStorageBufferBindingSize` are split along dim 0 (whole rows of the shape they
 * were created with) into several chunks, each bindable on its own.
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
}

/** Shared, reference-counted storage behind a tensor and its reshaped views. */
export class TensorStorage {
  #refs = 1;
  constructor(
    readonly dtype: GpuDType,
    readonly elements: number,
    readonly chunks: readonly TensorChunk[],
    /** The pooled buffers behind `chunks`, handed back when the last view is released. */
    readonly pooled: readonly PooledBuffer[],
  ) {}

  get released(): boolean {
    return this.#refs === 0;
  }

  retain(): void {
    this.#refs++;
  }

  /** Drops one reference; true when that was the last one and the buffers may be recycled. */
  drop(): boolean {
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
 * Splits a tensor along dim 0 into the fewest chunks of whole rows that each fit one binding.
 * f16 chunks start on an even element so each chunk's packed u32 words belong to it alone.
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
  if (rowsPerChunk < 1) {
    throw new TensorShapeError(
      `tensor [${shape}] ${dtype}: one row along dim 0 is ${rowElements * bpe} bytes, more than maxStorageBufferBindingSize = ${maxBindingBytes}; reshape it so dim 0 splits it finer, or request a device with a larger limit`,
    );
  }
  const out: ChunkPlan[] = [];
  for (let r = 0; r < rows; r += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - r) * rowElements;
    out.push({ elementOffset: r * rowElements, elements: n, byteSize: align4(n * bpe) });
  }
  return out;
}

/** Rounds a byte count up to a multiple of 4 (copies and bindings need it). */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
