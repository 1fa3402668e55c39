import { BindGroupCache } from './bind-group-cache.js';
import type { BufferPool } from './buffer-pool.js';
import { GpuDeviceLostError, GpuValidationError } from './errors.js';
import type { GpuFaultKind } from './fault.js';
import { Fences } from './fences.js';
import { decodeHalf, encodeHalf } from './half.js';
import { bindGroupLayout, compilePipeline, getPipeline, hasPipeline } from './kernel.js';
import type { KernelSpecialisation } from './kernel-set.js';
import type { CheckedDispatch, CommandRecorder, RecorderCounts } from './recorder.js';
import { align4, bytesPerElement, type GpuDType, type GpuTensor, type TensorChunk } from './tensor.js';
import { UniformRing } from './uniform-ring.js';
import { BufferUsage, MapMode } from './usage.js';

/**
 * Records into a WebGPU device: one command encoder until the next flush, consecutive dispatches
 * in one shared compute pass, uniforms in a `UniformRing`, bind groups cached, and every GPU call
 * between two flushes inside one validation and one OOM error scope, so `sync`/`read` report
 * errors as exceptions instead of console noise.
 */
export class DeviceRecorder implements CommandRecorder {
  #encoder: GPUCommandEncoder | null = null;
  /**
   * The compute pass consecutive dispatches share: one pass per dispatch costs a pass begin/end
   * each in Dawn, which dominates small models. WebGPU still orders the dispatches' storage
   * accesses inside a pass; a copy or a submit ends it.
   */
  #pass: GPUComputePassEncoder | null = null;
  #scopeOpen = false;
  /** First WebGPU error of the flushed segments not yet checked; one chain, so unchecked flushes don't pile up. */
  #pendingError: Promise<GPUError | null> = Promise.resolve(null);
  #lost: GPUDeviceLostInfo | null = null;
  readonly #uniforms: UniformRing;
  readonly #bindGroups = new BindGroupCache();
  readonly #fences: Fences;
  /** The work signature of the submission being recorded (keys the host-polling wait's estimates). */
  #submissionDispatches = 0;
  #submissionWorkgroups = 0;
  #submits = 0;
  #pipelinesCompiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    minUniformBufferOffsetAlignment: number,
    hostPolling: boolean,
  ) {
    this.#uniforms = new UniformRing(device, minUniformBufferOffsetAlignment);
    this.#fences = new Fences(device, hostPolling);
    device.lost.then((info) => {
      this.#lost = info;
    });
  }

  get counts(): RecorderCounts {
    return { submits: this.#submits, pipelinesCompiled: this.#pipelinesCompiled, bindGroupsCreated: this.#bindGroups.stats.misses };
  }

  get gpuWaitEstimateMs(): number | null {
    return this.#fences.estimateMs;
  }

  beforeAllocate(): void {
    this.#openScope(this.#live());
  }

  write(t: GpuTensor, offset: number, values: Float32Array | Int32Array): void {
    const device = this.#live();
    const bytes = t.dtype === 'f16' ? encodeHalf(values as Float32Array) : values;
    for (const chunk of t.chunks) {
      const start = Math.max(offset, chunk.elementOffset);
      const end = Math.min(offset + values.length, chunk.elementOffset + chunk.elements);
      if (start >= end) continue;
      const part = bytes.subarray(start - offset, end - offset);
      const raw = new Uint8Array(part.buffer as ArrayBuffer, part.byteOffset, part.byteLength);
      const at = (start - chunk.elementOffset) * bytesPerElement(t.dtype);
      // writeBuffer takes whole 4-byte words: an odd f16 count ends the tensor, so its pad is free.
      device.queue.writeBuffer(chunk.buffer!, at, raw.byteLength % 4 === 0 ? raw : copyPadded(raw));
    }
  }

  writeBytes(chunk: TensorChunk, byteOffset: number, bytes: Uint8Array): void {
    this.#live().queue.writeBuffer(chunk.buffer!, byteOffset, bytes as Uint8Array<ArrayBuffer>);
  }

  dispatch(d: CheckedDispatch): void {
    const device = this.#live();
    this.#submissionDispatches++;
    this.#submissionWorkgroups += d.grid[0] * d.grid[1] * d.grid[2];
    const pipeline = getPipeline(device, d.kernel, d.defines, d.constants, () => this.#pipelinesCompiled++);
    const uniform = this.#uniforms.slot(d.uniforms);
    const bindGroup = this.#bindGroups.get(device, bindGroupLayout(device, d.kernel), {
      uniform: uniform.buffer,
      uniformSize: uniform.size,
      storage: d.chunks,
    });
    this.#pass ??= this.#encoderNow().beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup, [uniform.offset]);
    this.#pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
  }

  copy(src: TensorChunk, srcOffset: number, dst: TensorChunk, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.#live();
    this.#endPass();
    this.#encoderNow().copyBufferToBuffer(src.buffer!, srcOffset, dst.buffer!, dstOffset, bytes);
  }

  async read(chunks: readonly TensorChunk[], dtype: GpuDType, size: number): Promise<Float32Array> {
    const device = this.#live();
    const encoder = this.#encoderNow();
    this.#endPass();
    const staging = chunks.map((c) => {
      const b = device.createBuffer({ size: c.byteSize, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(c.buffer!, 0, b, 0, c.byteSize);
      return b;
    });
    this.flush();
    try {
      await Promise.all(staging.map((b) => b.mapAsync(MapMode.READ)));
    } catch (err) {
      throw this.#lostOr(err);
    }
    this.#fences.retire();
    await this.#checkErrors();
    const out = new Float32Array(size);
    chunks.forEach((c, i) => {
      out.set(decodeChunk(dtype, staging[i]!.getMappedRange(), c.elements), c.elementOffset);
      staging[i]!.unmap();
      staging[i]!.destroy();
    });
    return out;
  }

  flush(): void {
    if (!this.#encoder && !this.#scopeOpen) return;
    const device = this.#live();
    this.#uniforms.flush();
    if (this.#encoder) {
      this.#endPass();
      device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#submits++;
      this.#submissionDispatches = 0;
      this.#submissionWorkgroups = 0;
    }
    this.pool.markSubmitted();
    if (this.#scopeOpen) {
      const previous = this.#pendingError;
      const scopes = [device.popErrorScope(), device.popErrorScope()].map((p) => p.catch(() => null));
      this.#pendingError = Promise.all([previous, ...scopes]).then((errors) => errors.find((e) => e) ?? null);
      this.#scopeOpen = false;
    }
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.#fences.retire();
    await this.#checkErrors();
  }

  async syncPrevious(): Promise<void> {
    // Split the error chain: what was flushed before this call is checked here, once; this
    // submission's errors are left to the next check.
    const previousErrors = this.#pendingError;
    this.#pendingError = Promise.resolve(null);
    this.#live();
    const encoder = this.#encoderNow();
    this.#endPass();
    const fence = this.#fences.record(encoder);
    const work = `${this.#submissionDispatches}:${this.#submissionWorkgroups}`;
    this.flush();
    const previous = this.#fences.submitted(fence, work);
    if (previous) {
      try {
        await this.#fences.wait(previous);
      } catch (err) {
        throw this.#lostOr(err);
      }
    }
    const first = await previousErrors;
    if (this.#lost) throw this.#lostError();
    if (first) throw new GpuValidationError(`WebGPU error in recorded commands: ${first.message}`);
  }

  abandon(): void {
    // Ending the pass keeps a half-recorded encoder valid for the garbage collector; it is never finished.
    try {
      this.#pass?.end();
    } catch {
      // A lost device refuses even this; the encoder is dropped all the same.
    }
    this.#pass = null;
    this.#encoder = null;
    this.#uniforms.reset();
    this.#submissionDispatches = 0;
    this.#submissionWorkgroups = 0;
    if (this.#scopeOpen && !this.#lost) {
      for (let i = 0; i < 2; i++) this.device.popErrorScope().catch(() => null);
    }
    this.#scopeOpen = false;
    this.#pendingError = Promise.resolve(null);
  }

  injectDeviceFault(kind: Exclude<GpuFaultKind, 'shape' | 'host'>, chunk: TensorChunk | undefined): void {
    if (kind === 'device-lost') {
      this.device.destroy();
      return;
    }
    // Copying a buffer onto itself is invalid: WebGPU reports it at submit, through the open error scope.
    if (chunk?.buffer) {
      this.#endPass();
      this.#encoderNow().copyBufferToBuffer(chunk.buffer, 0, chunk.buffer, 0, 4);
    }
  }

  clearBindGroups(): void {
    this.#bindGroups.clear();
  }

  async precompile(kernels: Iterable<KernelSpecialisation>, onProgress?: (done: number, total: number) => void): Promise<number> {
    const device = this.#live();
    const missing = [...kernels].filter((k) => !hasPipeline(device, k.kernel, k.defines, k.constants));
    let done = 0;
    onProgress?.(0, missing.length);
    // All at once: browsers compile async pipelines on their own threads, in parallel.
    await Promise.all(
      missing.map(async (k) => {
        try {
          if (await compilePipeline(device, k.kernel, k.defines, k.constants)) this.#pipelinesCompiled++;
        } catch (err) {
          const name = `${k.kernel.family}.${k.kernel.entryPoint}`;
          throw new GpuValidationError(`Compiling kernel ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        onProgress?.(++done, missing.length);
      }),
    );
    return missing.length;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  #encoderNow(): GPUCommandEncoder {
    this.#openScope(this.device);
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#encoder;
  }

  #openScope(device: GPUDevice): void {
    if (this.#scopeOpen) return;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    this.#scopeOpen = true;
  }

  async #checkErrors(): Promise<void> {
    const pending = this.#pendingError;
    this.#pendingError = Promise.resolve(null);
    const first = await pending;
    if (this.#lost) throw this.#lostError();
    if (first) throw new GpuValidationError(`WebGPU error in recorded commands: ${first.message}`);
  }

  #live(): GPUDevice {
    if (this.#lost) throw this.#lostError();
    return this.device;
  }

  /** A failed map is the device's loss when it was lost; otherwise the error itself. */
  #lostOr(err: unknown): unknown {
    return this.#lost ? this.#lostError() : err;
  }

  #lostError(): GpuDeviceLostError {
    return new GpuDeviceLostError(this.#lost!.reason, this.#lost!.message);
  }
}

function decodeChunk(dtype: GpuDType, mapped: ArrayBuffer, elements: number): Float32Array {
  if (dtype === 'f16') return decodeHalf(new Uint16Array(mapped, 0, elements));
  if (dtype === 'i32') return Float32Array.from(new Int32Array(mapped, 0, elements));
  return new Float32Array(mapped, 0, elements);
}

function copyPadded(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(align4(raw.byteLength));
  out.set(raw);
  return out;
}
