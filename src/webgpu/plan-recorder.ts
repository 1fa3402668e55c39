import type { BufferPool } from './buffer-pool.js';
import type { KernelSet } from './kernel-set.js';
import type { CheckedDispatch, CommandRecorder, RecorderCounts } from './recorder.js';
import type { GpuDType, TensorChunk } from './tensor.js';

const NONE: RecorderCounts = Object.freeze({ submits: 0, pipelinesCompiled: 0, bindGroupsCreated: 0 });

/**
 * The recorder of a plan-mode runtime: there is no device, so nothing is recorded. A flush still
 * marks the pool submitted (its accounting of what an upload may reuse follows the real one), and
 * reads resolve to zeros so host-side control flow around a planned model still runs. With a
 * `KernelSet` it notes each dispatch's specialisation: a dry run's list of what to precompile.
 */
export class PlanRecorder implements CommandRecorder {
  readonly counts = NONE;
  readonly gpuWaitEstimateMs = null;

  constructor(
    private readonly pool: BufferPool,
    private readonly kernels: KernelSet | null = null,
  ) {}

  beforeAllocate(): void {}
  write(): void {}
  writeBytes(): void {}
  dispatch(d: CheckedDispatch): void {
    this.kernels?.add(d.kernel, d.defines, d.constants);
  }
  copy(): void {}
  injectDeviceFault(): void {}
  clearBindGroups(): void {}

  /** No device, nothing to compile. */
  async precompile(): Promise<number> {
    return 0;
  }
  abandon(): void {}

  async read(_chunks: readonly TensorChunk[], _dtype: GpuDType, size: number): Promise<Float32Array> {
    return new Float32Array(size);
  }

  flush(): void {
    this.pool.markSubmitted();
  }

  async sync(): Promise<void> {
    this.flush();
  }

  async syncPrevious(): Promise<void> {
    this.flush();
  }
}
