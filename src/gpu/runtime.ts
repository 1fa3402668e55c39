import { GpuDeviceLostError, GpuValidationError, TensorShapeError } from './errors.js';
import { BindGroupCache } from './bind-group-cache.js';
import { BufferPool, type PooledBuffer } from './buffer-pool.js';
import { decodeHalf, encodeHalf } from './half.js';
import {
  bindGroupLayout,
  foldWorkgroups,
  getPipeline,
  packUniforms,
  type KernelDef,
  type UniformValue,
} from './kernel.js';
import { GPU_FAULT_KINDS, type GpuFault } from './fault.js';
import { DEFAULT_LIMITS, deviceCapabilities, MAX_STORAGE_BINDINGS, type GpuCapabilities, type GpuLimits } from './limits.js';
import type { ShaderDefines } from './preprocess.js';
import { align4, bytesPerElement, GpuTensor, numel, planChunks, TensorStorage, type GpuDType, type TensorChunk } from './tensor.js';
import { BufferUsage, MapMode } from './usage.js';
import { WorkTracker } from './work.js';

/** `execute` runs on a device; `plan` only does shapes and accounting (no device, no buffers). */
export type RuntimeMode = 'execute' | 'plan';

/** Options of a plan-mode runtime: the device it pretends to be. */
export interface PlanOptions {
  /** Limits to plan under; unspecified ones are the WebGPU defaults. */
  limits?: Partial<GpuLimits>;
  /** Plan as if the device had shader-f16 (affects only specialisation keys, not bytes). */
  shaderF16?: boolean;
  subgroups?: boolean;
}

/** Counters of recorded work since the runtime was created. */
export interface RuntimeStats {
  readonly dispatches: number;
  /** Buffer-to-buffer copies recorded by ops. */
  readonly copies: number;
  readonly submits: number;
  /** Pipelines this runtime compiled (cache misses). */
  readonly pipelinesCompiled: number;
  /** Largest single storage binding of any dispatch. */
  readonly largestBindingBytes: number;
  /** Bind groups created (cache misses); a repeated run over the same buffers creates none. */
  readonly bindGroupsCreated: number;
}

/** What `dispatch` needs besides the kernel. */
export interface DispatchArgs {
  /** Storage bindings 1..n, in the kernel's `storage` order: a single-chunk tensor or one chunk of a tensor. */
  readonly bindings: readonly (GpuTensor | TensorChunk)[];
  /** The uniform struct at binding 0. */
  readonly uniforms?: readonly UniformValue[];
  /** Preprocessor flags; `SHADER_F16` is added by the runtime. */
  readonly defines?: ShaderDefines;
  /** `override` constants (workgroup and tile sizes). */
  readonly constants?: Readonly<Record<string, number>>;
  /** A workgroup count to fold into a grid, or an explicit grid (each dimension checked against the limit). */
  readonly workgroups: number | readonly [number, number, number];
}

const UNIFORM_CHUNK_BYTES = 65_536;

/**
 * The share of a submission's measured GPU time that a host-polling wait sleeps through before
 * it starts polling: short enough that a faster submission is not slept past by much (the next
 * one is queued behind it, so the GPU stays busy meanwhile), long enough to skip most polling.
 */
const POLITE_WAIT_SHARE = 0.85;

/** A fence mapped within this many ms of the first poll had finished before it. */
const ALREADY_DONE_MS = 1.5;
/** What the estimate shrinks by when a fence had finished before the wait woke up. */
const OVERSLEPT_SHRINK = 0.75;

/** A fence: its 4-byte mappable buffer, copied into at the end of a submission. */
interface Fence {
  readonly buffer: GPUBuffer;
  readonly submittedAt: number;
  /** The submission's work signature: its dispatch and workgroup counts. */
  readonly work: string;
}

/** Distinct work signatures whose GPU time is remembered (then the memory starts over). */
const MAX_WAIT_ESTIMATES = 256;

/** How the runtime waits. */
export interface RuntimeOptions {
  /**
   * The WebGPU implementation completes promises by polling on this thread (true for Dawn's Node
   * binding): waits for the GPU then sleep before they poll. Default false.
   */
  hostPolling?: boolean;
}

interface UniformChunk {
  buffer: GPUBuffer;
  staging: Uint8Array<ArrayBuffer>;
  used: number;
}

/**
 * The runtime every kernel binding runs on: tensors, the buffer pool, the pipeline cache and the
 * current command encoder. Ops record into the encoder; `flush()` submits, `read()` flushes and
 * maps. In plan mode the same bindings run through the same code with no device: shapes,
 * chunking, dispatch validation and byte accounting happen, GPU work does not.
 */
export class GpuRuntime {
  readonly mode: RuntimeMode;
  /** The device; null in plan mode. */
  readonly device: GPUDevice | null;
  readonly capabilities: GpuCapabilities;
  readonly pool: BufferPool;
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
  /** The fence of the last `syncPrevious` submission, not yet waited for. */
  #lastFence: Fence | null = null;
  #fencePool: GPUBuffer[] = [];
  #fenceSource: GPUBuffer | null = null;
  /**
   * Smoothed GPU time of `syncPrevious` submissions by work signature: the steps of one model at
   * one size share a signature, so the estimate carries over from one image to the next but not
   * to other work.
   */
  #waitEstimates = new Map<string, number>();
  #lastWaitedWork: string | null = null;
  #submissionDispatches = 0;
  #submissionWorkgroups = 0;
  #lastFenceDone = 0;
  #uniformChunks: UniformChunk[] = [];
  #bindGroups = new BindGroupCache();
  #uniformChunkIndex = 0;
  #lost: GPUDeviceLostInfo | null = null;
  #activationDtype: 'f32' | 'f16' = 'f32';
  #work = new WorkTracker();
  /** An armed fault and the dispatches left before it fires. */
  #fault: { kind: GpuFault['kind']; countdown: number } | null = null;
  #stats = { dispatches: 0, copies: 0, submits: 0, pipelinesCompiled: 0, largestBindingBytes: 0 };

  /** Waits for the GPU sleep before polling (see `RuntimeOptions.hostPolling`). */
  readonly hostPolling: boolean;

  constructor(device: GPUDevice, capabilities?: GpuCapabilities, options?: RuntimeOptions);
  constructor(device: null, capabilities: GpuCapabilities);
  constructor(device: GPUDevice | null, capabilities: GpuCapabilities = deviceCapabilities(device!), options: RuntimeOptions = {}) {
    this.hostPolling = options.hostPolling ?? false;
    this.mode = device ? 'execute' : 'plan';
    this.device = device;
    this.capabilities = capabilities;
    this.pool = new BufferPool(device, capabilities.limits.maxBufferSize);
    device?.lost.then((info) => {
      this.#lost = info;
    });
  }

  /** A plan-mode runtime: no device is needed, so it runs anywhere (e.g. to size a full model under default limits). */
  static plan(options: PlanOptions = {}): GpuRuntime {
    return new GpuRuntime(null, {
      shaderF16: options.shaderF16 ?? false,
      subgroups: options.subgroups ?? false,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    });
  }

  get limits(): GpuLimits {
    return this.capabilities.limits;
  }

  /** f16 tensors are `array<f16>` in WGSL (true) or packed two per u32 (false). */
  get shaderF16(): boolean {
    return this.capabilities.shaderF16;
  }

  /**
   * What kernels store their outputs as: `f32` (the default) or `f16`, which halves activation
   * memory and bandwidth. f16 needs shader-f16 (WGSL `f16` arithmetic for the stores); kernels
   * read either dtype and always accumulate in f32. Set around a component's forward pass.
   */
  get activationDtype(): 'f32' | 'f16' {
    return this.#activationDtype;
  }

  set activationDtype(dtype: 'f32' | 'f16') {
    if (dtype === 'f16' && !this.shaderF16) {
      throw new TensorShapeError('f16 activations need a device with the shader-f16 feature; this one has none (use f32 activations)');
    }
    this.#activationDtype = dtype;
  }

  /** Runs `record` (which records ops) with activations stored as `dtype`, then restores the previous setting. */
  withActivations<R>(dtype: 'f32' | 'f16', record: () => R): R {
    const previous = this.#activationDtype;
    this.activationDtype = dtype;
    try {
      return record();
    } finally {
      this.#activationDtype = previous;
    }
  }

  /** A new tensor for a kernel's activation output, stored as `activationDtype`. */
  output(shape: readonly number[]): GpuTensor {
    return this.empty(shape, this.#activationDtype);
  }

  /** `OUT_F16` for a kernel whose output `out` is f16. */
  outputDefines(out: GpuTensor): Record<string, boolean> {
    return { OUT_F16: out.dtype === 'f16' };
  }

  get stats(): RuntimeStats {
    return { ...this.#stats, bindGroupsCreated: this.#bindGroups.stats.misses };
  }

  /** Preprocessor flags for a tensor bound under `role`: `<role>_F16` (array<f16>) or `<role>_F16_PACKED` (array<u32>); neither for f32. */
  storageDefines(role: string, t: GpuTensor): Record<string, boolean> {
    const half = t.dtype === 'f16';
    return { [`${role}_F16`]: half && this.shaderF16, [`${role}_F16_PACKED`]: half && !this.shaderF16 };
  }

  /** A new tensor with undefined contents, for a kernel to write. */
  empty(shape: readonly number[], dtype: GpuDType = 'f32'): GpuTensor {
    return this.#allocate(shape, dtype, false);
  }

  /** Copies host data into a new tensor (f16 is rounded to nearest even on the host). */
  upload(data: Float32Array | Int32Array, shape: readonly number[], dtype: GpuDType = data instanceof Int32Array ? 'i32' : 'f32'): GpuTensor {
    if (data.length !== numel(shape)) throw new TensorShapeError(`upload: ${data.length} values for shape [${shape}]`);
    if ((dtype === 'i32') !== data instanceof Int32Array) throw new TensorShapeError(`upload: ${dtype} tensor from ${data.constructor.name}`);
    const t = this.#allocate(shape, dtype, true);
    if (!this.device) return t;
    const bytes = dtype === 'f16' ? encodeHalf(data as Float32Array) : data;
    for (const chunk of t.chunks) {
      const part = bytes.subarray(chunk.elementOffset, chunk.elementOffset + chunk.elements);
      const raw = new Uint8Array(part.buffer as ArrayBuffer, part.byteOffset, part.byteLength);
      this.device.queue.writeBuffer(chunk.buffer!, 0, raw.byteLength === chunk.byteSize ? raw : copyPadded(raw, chunk.byteSize));
    }
    return t;
  }

  /**
   * A tensor to be filled from the host piece by piece with `writeElements` (streamed weights:
   * no host copy of the whole tensor is ever made).
   */
  emptyForWrite(shape: readonly number[], dtype: GpuDType): GpuTensor {
    return this.#allocate(shape, dtype, true);
  }

  /**
   * Writes `values` into elements [offset, offset + values.length) of a tensor from
   * `emptyForWrite` (f16 rounded to nearest even on the host), across its chunks. Writes land
   * on 4-byte boundaries: for f16, `offset` must be even, and an odd count only ends the tensor.
   */
  writeElements(t: GpuTensor, offset: number, values: Float32Array | Int32Array): void {
    const half = t.dtype === 'f16';
    if (offset < 0 || offset + values.length > t.size || (half && (offset % 2 === 1 || (values.length % 2 === 1 && offset + values.length !== t.size)))) {
      throw new TensorShapeError(`writeElements: ${values.length} values at ${offset} do not fit [${t.shape}] ${t.dtype} on 4-byte boundaries`);
    }
    if (!this.device) return;
    const device = this.#live();
    const bytes = half ? encodeHalf(values as Float32Array) : values;
    for (const chunk of t.chunks) {
      const start = Math.max(offset, chunk.elementOffset);
      const end = Math.min(offset + values.length, chunk.elementOffset + chunk.elements);
      if (start >= end) continue;
      const part = bytes.subarray(start - offset, end - offset);
      const raw = new Uint8Array(part.buffer as ArrayBuffer, part.byteOffset, part.byteLength);
      const at = (start - chunk.elementOffset) * bytesPerElement(t.dtype);
      device.queue.writeBuffer(chunk.buffer!, at, raw.byteLength % 4 === 0 ? raw : copyPadded(raw, raw.byteLength));
    }
  }

  /** Same storage, new shape (no copy). Release each view separately. */
  reshape(t: GpuTensor, shape: readonly number[]): GpuTensor {
    return t.view(shape);
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
   * Runs one unit of work (a request) so that a failure anywhere in it leaves the runtime clean:
   * commands recorded and not yet submitted are dropped (half a UNet at a size that failed would
   * otherwise be submitted with the next request's work and keep the GPU busy for minutes),
   * every buffer the work allocated and did not release goes back to the pool, and WebGPU errors
   * of the failed work are not blamed on the next one. Work already submitted runs to its end.
   * Weights the work loads to keep (a lazily loaded component) must be loaded before it starts.
   */
  async work<R>(run: () => Promise<R>): Promise<R> {
    this.#work.begin();
    try {
      const result = await run();
      this.#work.end();
      return result;
    } catch (err) {
      this.#abandon(this.#work.end());
      throw err;
    }
  }

  /**
   * Runs `load`, whose allocations outlive the unit of work running now (a component a request
   * loads on first use and keeps). Only that request records meanwhile: it awaits the load.
   */
  async keep<R>(load: () => Promise<R>): Promise<R> {
    this.#work.pause();
    try {
      return await load();
    } finally {
      this.#work.resume();
    }
  }

  /**
   * Arms a fault (see `GpuFault`): how tests prove that the engine survives a failure in the
   * middle of recorded work. Replaces a fault armed before and not raised yet.
   */
  injectFault(fault: GpuFault): void {
    if (!GPU_FAULT_KINDS.includes(fault.kind)) throw new TypeError(`injectFault: unknown kind "${String(fault.kind)}" (one of ${GPU_FAULT_KINDS.join(', ')})`);
    const after = fault.afterDispatches ?? 0;
    if (!Number.isInteger(after) || after < 0) throw new RangeError(`injectFault: afterDispatches must be a non-negative integer, got ${after}`);
    this.#fault = { kind: fault.kind, countdown: after };
  }

  /**
   * Flushes and copies a tensor back as float32. In plan mode resolves to zeros of the right
   * length, so host-side control flow around a planned model still runs.
   */
  async read(t: GpuTensor): Promise<Float32Array> {
    const chunks = t.chunks;
    if (!this.device) return new Float32Array(t.size);
    const device = this.#live();
    const encoder = this.#encoderNow();
    this.#endPass();
    const staging = chunks.map((c) => {
      const b = device.createBuffer({ size: c.byteSize, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(c.buffer!, 0, b, 0, c.byteSize);
      return b;
    });
    const dtype = t.dtype;
    this.flush();
    try {
      await Promise.all(staging.map((b) => b.mapAsync(MapMode.READ)));
    } catch (err) {
      throw this.#lost ? this.#lostError() : err;
    }
    this.#retireFence();
    await this.#checkErrors();
    const out = new Float32Array(t.size);
    chunks.forEach((c, i) => {
      const mapped = staging[i]!.getMappedRange();
      const values =
        dtype === 'f16' ? decodeHalf(new Uint16Array(mapped, 0, c.elements)) : dtype === 'i32' ? Float32Array.from(new Int32Array(mapped, 0, c.elements)) : new Float32Array(mapped, 0, c.elements);
      out.set(values, c.elementOffset);
      staging[i]!.unmap();
      staging[i]!.destroy();
    });
    return out;
  }

  /** Records one kernel dispatch into the current encoder's open compute pass. */
  dispatch(kernel: KernelDef, args: DispatchArgs): void {
    const name = `${kernel.family}.${kernel.entryPoint}`;
    if (args.bindings.length !== kernel.storage.length) {
      throw new TensorShapeError(`${name}: ${args.bindings.length} bindings for ${kernel.storage.length} storage slots`);
    }
    if (kernel.storage.length > Math.min(MAX_STORAGE_BINDINGS, this.limits.maxStorageBuffersPerShaderStage)) {
      throw new TensorShapeError(`${name}: ${kernel.storage.length} storage buffers, more than the ${MAX_STORAGE_BINDINGS} a kernel may use`);
    }
    const chunks = args.bindings.map((b, i) => this.#chunkOf(b, `${name} binding ${i + 1}`));
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    const grid = typeof args.workgroups === 'number' ? foldWorkgroups(args.workgroups, max) : args.workgroups;
    if (grid.some((d) => d > max || d < 0 || !Number.isInteger(d))) {
      throw new TensorShapeError(`${name}: workgroup grid [${grid}] is invalid or exceeds maxComputeWorkgroupsPerDimension = ${max}`);
    }
    if (this.#fault && this.#fault.countdown-- === 0) this.#raiseFault(name, chunks[0]);
    this.#stats.dispatches++;
    this.#submissionDispatches++;
    this.#submissionWorkgroups += grid[0] * grid[1] * grid[2];
    for (const c of chunks) if (c.byteSize > this.#stats.largestBindingBytes) this.#stats.largestBindingBytes = c.byteSize;
    const uniforms = packUniforms(args.uniforms ?? []);
    if (!this.device) return;
    const device = this.#live();
    const defines = { ...args.defines, SHADER_F16: this.shaderF16 };
    const pipeline = getPipeline(device, kernel, defines, args.constants ?? {}, () => this.#stats.pipelinesCompiled++);
    const uniform = this.#uniformSlot(device, uniforms);
    const bindGroup = this.#bindGroups.get(device, bindGroupLayout(device, kernel), {
      uniform: uniform.buffer,
      uniformSize: uniform.size,
      storage: chunks,
    });
    this.#pass ??= this.#encoderNow().beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup, [uniform.offset]);
    this.#pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
  }

  /** Records a copy of `elements` 4-byte elements between single-chunk tensors of the same 4-byte dtype. */
  copyElements(src: GpuTensor, srcOffset: number, dst: GpuTensor, dstOffset: number, elements: number): void {
    if (src.dtype !== dst.dtype || bytesPerElement(src.dtype) !== 4) {
      throw new TensorShapeError(`copyElements: ${src.dtype} → ${dst.dtype}; only same-dtype 4-byte tensors copy directly`);
    }
    if (srcOffset + elements > src.size || dstOffset + elements > dst.size) {
      throw new TensorShapeError(`copyElements: range of ${elements} at ${srcOffset}/${dstOffset} outside [${src.shape}]/[${dst.shape}]`);
    }
    const s = this.#chunkOf(src, 'copy source');
    const d = this.#chunkOf(dst, 'copy destination');
    this.#stats.copies++;
    if (!this.device || elements === 0) return;
    this.#live();
    this.#endPass();
    this.#encoderNow().copyBufferToBuffer(s.buffer!, srcOffset * 4, d.buffer!, dstOffset * 4, elements * 4);
  }

  /** Submits what was recorded. Cheap when nothing was. */
  flush(): void {
    if (!this.device) {
      this.pool.markSubmitted();
      return;
    }
    if (!this.#encoder && !this.#scopeOpen) return;
    const device = this.#live();
    for (const chunk of this.#uniformChunks.slice(0, this.#uniformChunkIndex + 1)) {
      if (chunk.used) device.queue.writeBuffer(chunk.buffer, 0, chunk.staging, 0, chunk.used);
      chunk.used = 0;
    }
    this.#uniformChunkIndex = 0;
    if (this.#encoder) {
      this.#endPass();
      device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#stats.submits++;
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

  /**
   * Submits what was recorded and gives the pool's idle buffers back to the system, with the bind
   * groups that referenced them: between requests only tensors still held (weights) stay
   * allocated. The next request allocates its activations again.
   */
  releaseIdle(): void {
    this.flush();
    // Nothing is recorded after a flush, so buffers released since the last submit are idle too.
    this.pool.markSubmitted();
    this.pool.trim();
    this.#bindGroups.clear();
  }

  /** Flushes, waits for the GPU to finish, and throws the first WebGPU error any recorded command raised. */
  async sync(): Promise<void> {
    this.flush();
    if (!this.device) return;
    await this.device.queue.onSubmittedWorkDone();
    this.#retireFence();
    await this.#checkErrors();
  }

  /** The GPU time (smoothed, ms) expected of submissions like the last one `syncPrevious` waited for; null before any. */
  get gpuWaitEstimateMs(): number | null {
    return this.#lastWaitedWork === null ? null : (this.#waitEstimates.get(this.#lastWaitedWork) ?? null);
  }

  /**
   * Submits what was recorded and waits until the GPU has finished the work submitted by the
   * previous `syncPrevious`, not this one: the caller records the next batch of work while the
   * GPU runs this one. Throws the first WebGPU error of the finished work.
   *
   * Each submission ends with a 4-byte copy into a mappable fence buffer, and waiting is mapping
   * it. Where the WebGPU implementation completes promises by polling on this thread (Dawn's Node
   * binding spins `setImmediate` while one is pending, taking a core from a CPU driver such as
   * lavapipe), the wait first sleeps for most of the GPU time measured for earlier submissions.
   */
  async syncPrevious(): Promise<void> {
    const previous = this.#lastFence;
    // Split the error chain: what was flushed before this call is checked here, once; this
    // submission's errors are left to the next check.
    const previousErrors = this.#pendingError;
    this.#pendingError = Promise.resolve(null);
    if (!this.device) {
      this.flush();
      return;
    }
    const device = this.#live();
    const encoder = this.#encoderNow();
    this.#endPass();
    const fence = this.#fencePool.pop() ?? device.createBuffer({ size: 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.#fenceSource ??= device.createBuffer({ size: 4, usage: BufferUsage.COPY_SRC });
    encoder.copyBufferToBuffer(this.#fenceSource, 0, fence, 0, 4);
    const work = `${this.#submissionDispatches}:${this.#submissionWorkgroups}`;
    this.flush();
    this.#lastFence = { buffer: fence, submittedAt: performance.now(), work };
    if (previous) await this.#waitFence(previous);
    const first = await previousErrors;
    if (this.#lost) throw this.#lostError();
    if (first) throw new GpuValidationError(`WebGPU error in recorded commands: ${first.message}`);
  }

  /** Starts a new peak-bytes measurement. */
  resetPeak(): void {
    this.pool.resetPeak();
  }

  #allocate(shape: readonly number[], dtype: GpuDType, hostWrite: boolean): GpuTensor {
    if (this.device) this.#live();
    const maxBinding = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    const plan = planChunks(shape, dtype, maxBinding);
    if (this.device) this.#openScope(this.device);
    const pooled: PooledBuffer[] = plan.map((c) => this.pool.acquire(c.byteSize, { hostWrite }));
    const chunks: TensorChunk[] = plan.map((c, i) => ({ ...c, buffer: pooled[i]!.buffer }));
    const storage = new TensorStorage(dtype, numel(shape), chunks, pooled);
    this.#work.allocated(storage);
    return new GpuTensor(shape, storage);
  }

  #chunkOf(b: GpuTensor | TensorChunk, what: string): TensorChunk {
    if (!(b instanceof GpuTensor)) return b;
    const chunks = b.chunks;
    if (chunks.length !== 1) {
      throw new TensorShapeError(
        `${what}: tensor [${b.shape}] ${b.dtype} is ${chunks.length} chunks (larger than maxStorageBufferBindingSize = ${this.limits.maxStorageBufferBindingSize}); this kernel binds whole tensors only`,
      );
    }
    return chunks[0]!;
  }

  /** After failed work: drops what it recorded, takes back its buffers, forgets its errors. */
  #abandon(leaked: TensorStorage[]): void {
    // Ending the pass keeps a half-recorded encoder valid for the garbage collector; it is never finished.
    try {
      this.#pass?.end();
    } catch {
      // A lost device refuses even this; the encoder is dropped all the same.
    }
    this.#pass = null;
    this.#encoder = null;
    for (const chunk of this.#uniformChunks) chunk.used = 0;
    this.#uniformChunkIndex = 0;
    this.#submissionDispatches = 0;
    this.#submissionWorkgroups = 0;
    if (this.#scopeOpen && this.device && !this.#lost) {
      for (let i = 0; i < 2; i++) this.device.popErrorScope().catch(() => null);
    }
    this.#scopeOpen = false;
    this.#pendingError = Promise.resolve(null);
    this.#fault = null;
    for (const storage of leaked) {
      if (storage.abandon()) for (const p of storage.pooled) this.pool.release(p);
    }
    // Nothing recorded is pending any more, so every released buffer is safe for host writes.
    this.pool.markSubmitted();
  }

  #raiseFault(name: string, chunk: TensorChunk | undefined): void {
    const kind = this.#fault!.kind;
    this.#fault = null;
    const what = `injected fault (${kind}) at ${name}`;
    if (kind === 'shape') throw new TensorShapeError(`${name}: ${what}: a tensor larger than maxStorageBufferBindingSize`);
    if (kind === 'host') throw new Error(`${what}: an error in host code mid-recording`);
    if (!this.device) return;
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

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  #encoderNow(): GPUCommandEncoder {
    const device = this.device!;
    this.#openScope(device);
    this.#encoder ??= device.createCommandEncoder();
    return this.#encoder;
  }

  // Every GPU call between two flushes runs inside one validation and one OOM error scope, so
  // sync()/read() can report errors as exceptions instead of console noise.
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

  #uniformSlot(device: GPUDevice, data: ArrayBuffer): { buffer: GPUBuffer; offset: number; size: number } {
    const align = this.limits.minUniformBufferOffsetAlignment;
    let chunk = this.#uniformChunks[this.#uniformChunkIndex];
    if (chunk && chunk.used + data.byteLength > UNIFORM_CHUNK_BYTES) chunk = this.#uniformChunks[++this.#uniformChunkIndex];
    if (!chunk) {
      chunk = {
        buffer: device.createBuffer({ size: UNIFORM_CHUNK_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
        staging: new Uint8Array(UNIFORM_CHUNK_BYTES),
        used: 0,
      };
      this.#uniformChunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.staging.set(new Uint8Array(data), offset);
    chunk.used = Math.ceil((offset + data.byteLength) / align) * align;
    return { buffer: chunk.buffer, offset, size: data.byteLength };
  }

  async #waitFence(fence: Fence): Promise<void> {
    // The GPU starts on a submission once the one before it is done.
    const started = Math.max(fence.submittedAt, this.#lastFenceDone);
    const estimate = this.#waitEstimates.get(fence.work);
    let slept = false;
    if (this.hostPolling && estimate !== undefined) {
      const delay = started + POLITE_WAIT_SHARE * estimate - performance.now();
      if (delay >= 1) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        slept = true;
      }
    }
    const polling = performance.now();
    try {
      await fence.buffer.mapAsync(MapMode.READ);
    } catch (err) {
      throw this.#lost ? this.#lostError() : err;
    }
    fence.buffer.unmap();
    this.#fencePool.push(fence.buffer);
    const done = performance.now();
    let next: number;
    if (slept && done - polling < ALREADY_DONE_MS) {
      // It finished while we slept, so its time is unknown but below the estimate; measuring
      // the oversleep instead would keep a stale estimate alive.
      next = estimate! * OVERSLEPT_SHRINK;
    } else {
      const took = done - started;
      next = estimate === undefined ? took : 0.7 * estimate + 0.3 * took;
    }
    if (!this.#waitEstimates.has(fence.work) && this.#waitEstimates.size >= MAX_WAIT_ESTIMATES) this.#waitEstimates.clear();
    this.#waitEstimates.set(fence.work, next);
    this.#lastWaitedWork = fence.work;
    this.#lastFenceDone = done;
  }

  /** After a full wait the last fence's copy is done: its buffer can be reused. */
  #retireFence(): void {
    if (this.#lastFence) this.#fencePool.push(this.#lastFence.buffer);
    this.#lastFence = null;
  }

  #live(): GPUDevice {
    if (this.#lost) throw this.#lostError();
    return this.device!;
  }

  #lostError(): GpuDeviceLostError {
    return new GpuDeviceLostError(this.#lost!.reason, this.#lost!.message);
  }
}

function copyPadded(raw: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(align4(size));
  out.set(raw);
  return out;
}
