import { BufferPool, type PooledBuffer } from './buffer-pool.js';
import { TensorShapeError } from './errors.js';
import { GpuTensor, numel, planChunks, TensorStorage, type GpuDType, type QuantStorage, type TensorChunk } from './tensor.js';
import { WorkTracker } from './work.js';

/**
 * Tensor memory of a runtime: chunking under the binding limit, the buffer pool, and which
 * allocations belong to the unit of work running now, so that a failed request gives back
 * everything it allocated and did not release.
 */
export class TensorAllocator {
  readonly pool: BufferPool;
  readonly #work = new WorkTracker();

  constructor(device: GPUDevice | null, maxBufferSize: number) {
    this.pool = new BufferPool(device, maxBufferSize);
  }

  /** A tensor of `shape`, in chunks of at most `maxBinding` bytes each; `hostWrite` for one filled by the host. */
  allocate(shape: readonly number[], dtype: GpuDType, hostWrite: boolean, maxBinding: number): GpuTensor {
    const plan = planChunks(shape, dtype, maxBinding);
    const pooled: PooledBuffer[] = plan.map((c) => this.pool.acquire(c.byteSize, { hostWrite }));
    const chunks: TensorChunk[] = plan.map((c, i) => ({ ...c, buffer: pooled[i]!.buffer }));
    const storage = new TensorStorage(dtype, numel(shape), chunks, pooled);
    this.#work.allocated(storage);
    return new GpuTensor(shape, storage);
  }

  /**
   * A quantized weight of logical `shape` (`q8`/`q4` packed values in one binding) with room for
   * its f16 scales, `scaleStride` per row; filled by the host.
   */
  allocateQuantized(shape: readonly number[], quant: Omit<QuantStorage, 'scales'>, maxBinding: number): GpuTensor {
    const dtype = quant.bits === 8 ? 'q8' : 'q4';
    const [data, ...more] = planChunks(shape, dtype, maxBinding);
    const rows = shape[0] ?? 1;
    const scaleBytes = rows * quant.scaleStride * 2;
    if (more.length > 0 || scaleBytes > maxBinding) {
      throw new TensorShapeError(`quantized weight [${shape}] ${dtype}: its values or scales exceed one storage binding of ${maxBinding} bytes`);
    }
    const pooled = [this.pool.acquire(data!.byteSize, { hostWrite: true }), this.pool.acquire(scaleBytes, { hostWrite: true })];
    const chunks: TensorChunk[] = [{ ...data!, buffer: pooled[0]!.buffer, quantized: true }];
    const scales: TensorChunk = { buffer: pooled[1]!.buffer, elementOffset: 0, elements: rows * quant.scaleStride, byteSize: scaleBytes };
    const storage = new TensorStorage(dtype, numel(shape), chunks, pooled, { ...quant, scales });
    this.#work.allocated(storage);
    return new GpuTensor(shape, storage);
  }

  /** Releases a view; the memory goes back to the pool when its last view is released. */
  release(t: GpuTensor): void {
    const storage = t.storage;
    if (t.markReleased()) {
      this.#work.released(storage);
      for (const p of storage.pooled) this.pool.release(p);
    }
  }

  /**
   * Runs a unit of work; when it fails, `abandon` drops what it recorded, then every buffer it
   * allocated and did not release goes back to the pool (see `GpuRuntime.work`).
   */
  async work<R>(run: () => Promise<R>, abandon: () => void): Promise<R> {
    this.#work.begin();
    try {
      const result = await run();
      this.#work.end();
      return result;
    } catch (err) {
      const leaked = this.#work.end();
      abandon();
      for (const storage of leaked) {
        if (storage.abandon()) for (const p of storage.pooled) this.pool.release(p);
      }
      // Nothing recorded is pending any more, so every released buffer is safe for host writes.
      this.pool.markSubmitted();
      throw err;
    }
  }

  /** Runs `load`, whose allocations outlive the unit of work running now (see `GpuRuntime.keep`). */
  async keep<R>(load: () => Promise<R>): Promise<R> {
    this.#work.pause();
    try {
      return await load();
    } finally {
      this.#work.resume();
    }
  }
}
