import type { GpuFaultKind } from './fault.js';
import type { KernelDef } from './kernel.js';
import type { KernelSpecialisation } from './kernel-set.js';
import type { ShaderDefines } from './preprocess.js';
import type { GpuDType, GpuTensor, TensorChunk } from './tensor.js';

/** Counters only a device-backed recorder has work for (a plan recorder's stay 0). */
export interface RecorderCounts {
  readonly submits: number;
  readonly pipelinesCompiled: number;
  readonly bindGroupsCreated: number;
}

/** A dispatch `GpuRuntime` has validated: storage chunks, the folded grid and the packed uniforms. */
export interface CheckedDispatch {
  readonly kernel: KernelDef;
  readonly chunks: readonly TensorChunk[];
  readonly grid: readonly [number, number, number];
  readonly uniforms: ArrayBuffer;
  readonly defines: ShaderDefines;
  readonly constants: Readonly<Record<string, number>>;
}

/**
 * What `GpuRuntime` does with a device: record, submit, wait, read. Two implementations behind
 * one interface keep plan mode out of the runtime's code paths: `DeviceRecorder` records into
 * WebGPU, `PlanRecorder` records nothing (shapes, validation and accounting happen in the runtime
 * before either is called).
 */
export interface CommandRecorder {
  readonly counts: RecorderCounts;
  /** The GPU time expected of the next `syncPrevious` wait (see `GpuRuntime.gpuWaitEstimateMs`). */
  readonly gpuWaitEstimateMs: number | null;
  /** Before buffers are acquired for a tensor: throws on a lost device, opens the error scope that catches OOM. */
  beforeAllocate(): void;
  /** Writes host values into elements [offset, offset + values.length) of `t` (f16 rounded on the host). */
  write(t: GpuTensor, offset: number, values: Float32Array | Int32Array): void;
  /** Writes raw bytes at a 4-byte aligned offset of a chunk. */
  writeBytes(chunk: TensorChunk, byteOffset: number, bytes: Uint8Array): void;
  dispatch(d: CheckedDispatch): void;
  /** Records a copy of `bytes` bytes between chunks. */
  copy(src: TensorChunk, srcOffset: number, dst: TensorChunk, dstOffset: number, bytes: number): void;
  /** Flushes and reads the chunks of a tensor back as float32. */
  read(chunks: readonly TensorChunk[], dtype: GpuDType, size: number): Promise<Float32Array>;
  flush(): void;
  sync(): Promise<void>;
  syncPrevious(): Promise<void>;
  /** Drops what was recorded and not submitted, and the errors of the failed work. */
  abandon(): void;
  /** Raises an injected device fault (`validation`, `device-lost`) at a dispatch binding `chunk`. */
  injectDeviceFault(kind: Exclude<GpuFaultKind, 'shape' | 'host'>, chunk: TensorChunk | undefined): void;
  /** Forgets cached bind groups (their buffers are about to be destroyed). */
  clearBindGroups(): void;
  /**
   * Compiles the specialisations the device's cache lacks, off the thread where the driver can;
   * `onProgress` sees `done` of the `total` it compiles. Resolves to that total.
   */
  precompile(kernels: Iterable<KernelSpecialisation>, onProgress?: (done: number, total: number) => void): Promise<number>;
}
