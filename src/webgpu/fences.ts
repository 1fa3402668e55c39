import { HostPollingWait, type SubmittedWork } from './host-polling-wait.js';
import { BufferUsage, MapMode } from './usage.js';

/** A fence: its 4-byte mappable buffer, copied into at the end of a submission. */
interface Fence extends SubmittedWork {
  readonly buffer: GPUBuffer;
}

/**
 * One submission in flight while the next is recorded (`GpuRuntime.syncPrevious`): each
 * submission ends with a 4-byte copy into a mappable fence buffer, and waiting for it is mapping
 * that buffer. Fence buffers are pooled. Where the implementation polls on this thread, the wait
 * goes through a `HostPollingWait`.
 */
export class Fences {
  #pool: GPUBuffer[] = [];
  #source: GPUBuffer | null = null;
  /** The fence of the last submission, not yet waited for. */
  #last: Fence | null = null;
  readonly #polite: HostPollingWait | null;

  constructor(
    private readonly device: GPUDevice,
    hostPolling: boolean,
  ) {
    this.#polite = hostPolling ? new HostPollingWait() : null;
  }

  /** See `HostPollingWait.estimateMs`; null where the implementation does not poll (nothing is estimated). */
  get estimateMs(): number | null {
    return this.#polite?.estimateMs ?? null;
  }

  /** Records the fence copy at the end of `encoder`; pass the buffer to `submitted` once the encoder is submitted. */
  record(encoder: GPUCommandEncoder): GPUBuffer {
    const fence = this.#pool.pop() ?? this.device.createBuffer({ size: 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.#source ??= this.device.createBuffer({ size: 4, usage: BufferUsage.COPY_SRC });
    encoder.copyBufferToBuffer(this.#source, 0, fence, 0, 4);
    return fence;
  }

  /** Marks the fence submitted now with `work`; returns the previous submission's fence, for `wait`. */
  submitted(buffer: GPUBuffer, work: string): Fence | null {
    const previous = this.#last;
    this.#last = { buffer, submittedAt: performance.now(), work };
    return previous;
  }

  /** Waits until the fence's submission has finished; a mapping failure (lost device) is thrown as is. */
  async wait(fence: Fence): Promise<void> {
    const poll = () => fence.buffer.mapAsync(MapMode.READ);
    await (this.#polite ? this.#polite.wait(fence, poll) : poll());
    fence.buffer.unmap();
    this.#pool.push(fence.buffer);
  }

  /** After a full wait the last fence's copy is done: its buffer can be reused. */
  retire(): void {
    if (this.#last) this.#pool.push(this.#last.buffer);
    this.#last = null;
  }
}
