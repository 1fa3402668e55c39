import { BufferUsage } from './usage.js';

/** A storage buffer handed out by the pool. `buffer` is null in plan mode. */
export interface PooledBuffer {
  readonly buffer: GPUBuffer | null;
  /** Bucket size in bytes: what the buffer really occupies. */
  readonly size: number;
}

/** One `createBuffer` call (or, in plan mode, the one that would have happened). */
export interface AllocationRecord {
  readonly size: number;
  /** Size the caller asked for, before rounding up to the bucket. */
  readonly requested: number;
}

/** Counters of a pool; all values are bytes except `allocations`. */
export interface PoolStats {
  /** Bytes held by live tensors. */
  readonly liveBytes: number;
  /** Largest `liveBytes` since creation or the last `resetPeak()`. */
  readonly peakBytes: number;
  /** Bytes of every buffer the pool owns: live plus idle in free lists. */
  readonly reservedBytes: number;
  /** `createBuffer` calls so far. */
  readonly allocations: number;
  /** Largest single buffer ever allocated. */
  readonly largestAllocation: number;
}

const MIN_BUCKET = 256;

/**
 * Bucket a request rounds up to: steps of 1/8 of the enclosing power of two, so a buffer is at
 * most 12.5 % larger than asked (weights live in pooled buffers too, so waste matters) while an
 * activation of a recurring size always lands in the same bucket.
 */
export function bucketSize(bytes: number): number {
  if (bytes <= MIN_BUCKET) return MIN_BUCKET;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 8;
  return Math.ceil(bytes / step) * step;
}

interface FreeLists {
  /** Released since the last submit: the GPU may still read them in recorded, unsubmitted commands. */
  pending: PooledBuffer[];
  /** Released before the last submit: safe for anything. */
  ready: PooledBuffer[];
}

/**
 * Size-bucketed reuse of storage buffers, with the accounting tests and planners read.
 *
 * Reuse rule: a buffer released while commands that read it are recorded but not submitted may
 * be handed out again only to a GPU-written output (commands in one queue run in order, so a later
 * dispatch overwriting it is safe), never to a host write (`queue.writeBuffer` runs at submit,
 * before the recorded commands, and would clobber what they read). `markSubmitted()` lifts that.
 */
export class BufferPool {
  #free = new Map<number, FreeLists>();
  #live = 0;
  #peak = 0;
  #reserved = 0;
  #allocations = 0;
  #largest = 0;
  #onAllocate: ((record: AllocationRecord) => void) | null = null;

  /**
   * @param device creates real buffers; null for plan mode, where only the accounting runs.
   * @param maxBufferSize the device's `maxBufferSize`: buckets never round past it.
   */
  constructor(
    private readonly device: GPUDevice | null,
    private readonly maxBufferSize: number,
  ) {}

  /** Takes a buffer of at least `bytes`. `hostWrite`: the caller will `queue.writeBuffer` into it before the next submit. */
  acquire(bytes: number, options: { hostWrite?: boolean; label?: string } = {}): PooledBuffer {
    const size = Math.max(Math.min(bucketSize(bytes), this.maxBufferSize), bytes);
    const lists = this.#free.get(size);
    const reused = lists?.ready.pop() ?? (options.hostWrite ? undefined : lists?.pending.pop());
    const pooled = reused ?? this.#allocate(size, bytes, options.label);
    this.#live += size;
    if (this.#live > this.#peak) this.#peak = this.#live;
    return pooled;
  }

  /** Hands a buffer back for reuse. */
  release(pooled: PooledBuffer): void {
    this.#live -= pooled.size;
    let lists = this.#free.get(pooled.size);
    if (!lists) {
      lists = { pending: [], ready: [] };
      this.#free.set(pooled.size, lists);
    }
    lists.pending.push(pooled);
  }

  /** Called after each queue submit: buffers released before it are now safe for host writes. */
  markSubmitted(): void {
    for (const lists of this.#free.values()) {
      for (const p of lists.pending) lists.ready.push(p);
      lists.pending.length = 0;
    }
  }

  /**
   * Destroys the idle buffers released before the last submit. Those released since may still be
   * read by recorded, unsubmitted commands, so they stay until a later `markSubmitted()`; a
   * destroyed buffer that submitted work still reads lives until that work is done (WebGPU).
   */
  trim(): void {
    for (const [size, lists] of this.#free) {
      for (const p of lists.ready) {
        p.buffer?.destroy();
        this.#reserved -= p.size;
      }
      lists.ready.length = 0;
      if (lists.pending.length === 0) this.#free.delete(size);
    }
  }

  get stats(): PoolStats {
    return {
      liveBytes: this.#live,
      peakBytes: this.#peak,
      reservedBytes: this.#reserved,
      allocations: this.#allocations,
      largestAllocation: this.#largest,
    };
  }

  /** Starts a new peak measurement from the current live bytes. */
  resetPeak(): void {
    this.#peak = this.#live;
  }

  /** Calls `hook` on every allocation from now on (null to stop); e.g. to prove a buffer size never occurs. */
  onAllocate(hook: ((record: AllocationRecord) => void) | null): void {
    this.#onAllocate = hook;
  }

  #allocate(size: number, requested: number, label: string | undefined): PooledBuffer {
    const buffer = this.device
      ? this.device.createBuffer({
          size,
          usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
          ...(label ? { label } : {}),
        })
      : null;
    this.#allocations++;
    this.#reserved += size;
    if (size > this.#largest) this.#largest = size;
    this.#onAllocate?.({ size, requested });
    return { buffer, size };
  }
}
