import { BufferUsage } from './usage.js';

const UNIFORM_CHUNK_BYTES = 65_536;

interface UniformChunk {
  buffer: GPUBuffer;
  staging: Uint8Array<ArrayBuffer>;
  used: number;
}

/** Where one dispatch's uniforms live: bound with a dynamic offset into a shared chunk. */
export interface UniformSlot {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

/**
 * The uniforms of the dispatches recorded since the last flush, staged on the host in 64 KiB
 * chunks and written to their uniform buffers once per flush: one `writeBuffer` per chunk instead
 * of one per dispatch, and each dispatch keeps its own slot. The chunks are reused after a flush.
 */
export class UniformRing {
  #chunks: UniformChunk[] = [];
  #index = 0;

  constructor(
    private readonly device: GPUDevice,
    /** `minUniformBufferOffsetAlignment`: slots start on it. */
    private readonly align: number,
  ) {}

  /** Stages `data` in a new slot. */
  slot(data: ArrayBuffer): UniformSlot {
    let chunk = this.#chunks[this.#index];
    if (chunk && chunk.used + data.byteLength > UNIFORM_CHUNK_BYTES) chunk = this.#chunks[++this.#index];
    if (!chunk) {
      chunk = {
        buffer: this.device.createBuffer({ size: UNIFORM_CHUNK_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
        staging: new Uint8Array(UNIFORM_CHUNK_BYTES),
        used: 0,
      };
      this.#chunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.staging.set(new Uint8Array(data), offset);
    chunk.used = Math.ceil((offset + data.byteLength) / this.align) * this.align;
    return { buffer: chunk.buffer, offset, size: data.byteLength };
  }

  /** Writes the staged slots to their buffers (before the submit that reads them) and starts over. */
  flush(): void {
    for (const chunk of this.#chunks.slice(0, this.#index + 1)) {
      if (chunk.used) this.device.queue.writeBuffer(chunk.buffer, 0, chunk.staging, 0, chunk.used);
      chunk.used = 0;
    }
    this.#index = 0;
  }

  /** Forgets the staged slots unwritten (their dispatches were dropped). */
  reset(): void {
    for (const chunk of this.#chunks) chunk.used = 0;
    this.#index = 0;
  }
}
