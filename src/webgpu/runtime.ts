import { TensorAllocator } from './allocator.js';
import type { BufferPool } from './buffer-pool.js';
import { DeviceRecorder } from './device-recorder.js';
import { TensorShapeError } from './errors.js';
import { GPU_FAULT_KINDS, type GpuFault } from './fault.js';
import { foldWorkgroups, type KernelDef } from './kernel.js';
import { DEFAULT_LIMITS, deviceCapabilities, MAX_STORAGE_BINDINGS, type GpuCapabilities, type GpuLimits } from './limits.js';
import { PlanRecorder } from './plan-recorder.js';
import type { KernelSet, KernelSpecialisation } from './kernel-set.js';
import type { ShaderDefines } from './preprocess.js';
import type { CommandRecorder } from './recorder.js';
import { bytesPerElement, GpuTensor, isQuantized, numel, type GpuDType, type QuantStorage, type TensorChunk } from './tensor.js';
import { packUniforms, type UniformValues } from './uniforms.js';

/** `execute` runs on a device; `plan` only does shapes and accounting (no device, no buffers). */
export type RuntimeMode = 'execute' | 'plan';

/** Options of a plan-mode runtime: the device it pretends to be. */
export interface PlanOptions {
  /** Limits to plan under; unspecified ones are the WebGPU defaults. */
  limits?: Partial<GpuLimits>;
  /** Plan as if the device had shader-f16 (affects only specialisation keys, not bytes). */
  shaderF16?: boolean;
  subgroups?: boolean;
  /** Notes the specialisation of every dispatch here (a dry run's list for `precompile`). */
  kernels?: KernelSet;
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
  /** The uniform struct at binding 0, by WGSL field name (see `UniformValues`); omit for a kernel that reads none. */
  readonly uniforms?: UniformValues;
  /** Preprocessor flags; `SHADER_F16` is added by the runtime. */
  readonly defines?: ShaderDefines;
  /** `override` constants (workgroup and tile sizes). */
  readonly constants?: Readonly<Record<string, number>>;
  /** A workgroup count to fold into a grid, or an explicit grid (each dimension checked against the limit). */
  readonly workgroups: number | readonly [number, number, number];
  /** Binding indices (0-based) where the kernel dequantizes a `q8`/`q4` weight; anywhere else one is refused. */
  readonly quantized?: readonly number[];
}

/** How the runtime waits. */
export interface RuntimeOptions {
  /**
   * The WebGPU implementation completes promises by polling on this thread (true for Dawn's Node
   * binding): waits for the GPU then sleep before they poll. Default false.
   */
  hostPolling?: boolean;
  /** Plan mode: notes the specialisation of every dispatch here, for a device runtime to `precompile`. */
  kernels?: KernelSet;
}

/**
 * The runtime every kernel binding runs on: tensors, the buffer pool, the pipeline cache and the
 * current command encoder. Ops record into the encoder; `flush()` submits, `read()` flushes and
 * maps. In plan mode the same bindings run through the same code with no device: shapes,
 * chunking, dispatch validation and byte accounting happen, GPU work does not.
 *
 * A facade over its parts: a `TensorAllocator` (pool, chunking, work tracking) and a
 * `CommandRecorder`, device-backed or plan-only; what both modes share (validation, fault
 * injection, counters) lives here.
 */
export class GpuRuntime {
  readonly mode: RuntimeMode;
  /** The device; null in plan mode. */
  readonly device: GPUDevice | null;
  readonly capabilities: GpuCapabilities;
  readonly pool: BufferPool;
  readonly #allocator: TensorAllocator;
  readonly #recorder: CommandRecorder;
  #activationDtype: 'f32' | 'f16' = 'f32';
  /** An armed fault and the dispatches left before it fires. */
  #fault: { kind: GpuFault['kind']; countdown: number } | null = null;
  #stats = { dispatches: 0, copies: 0, largestBindingBytes: 0 };

  /** Waits for the GPU sleep before polling (see `RuntimeOptions.hostPolling`). */
  readonly hostPolling: boolean;

  constructor(device: GPUDevice, capabilities?: GpuCapabilities, options?: RuntimeOptions);
  constructor(device: null, capabilities: GpuCapabilities, options?: RuntimeOptions);
  constructor(device: GPUDevice | null, capabilities: GpuCapabilities = deviceCapabilities(device!), options: RuntimeOptions = {}) {
    this.hostPolling = options.hostPolling ?? false;
    this.mode = device ? 'execute' : 'plan';
    this.device = device;
    this.capabilities = capabilities;
    this.#allocator = new TensorAllocator(device, capabilities.limits.maxBufferSize);
    this.pool = this.#allocator.pool;
    this.#recorder = device
      ? new DeviceRecorder(device, this.pool, capabilities.limits.minUniformBufferOffsetAlignment, this.hostPolling)
      : new PlanRecorder(this.pool, options.kernels ?? null);
  }

  /** A plan-mode runtime: no device is needed, so it runs anywhere (e.g. to size a full model under default limits). */
  static plan(options: PlanOptions = {}): GpuRuntime {
    const capabilities = { shaderF16: options.shaderF16 ?? false, subgroups: options.subgroups ?? false, limits: { ...DEFAULT_LIMITS, ...options.limits } };
    return new GpuRuntime(null, capabilities, options.kernels ? { kernels: options.kernels } : {});
  }

  /**
   * Compiles every specialisation in `kernels` the device has not compiled yet (a dry run's
   * `KernelSet`), without blocking on each, so the work that dispatches them compiles nothing.
   * `onProgress` sees `done` of `total`; resolves to the total compiled. Plan mode compiles nothing.
   */
  precompile(kernels: Iterable<KernelSpecialisation>, onProgress?: (done: number, total: number) => void): Promise<number> {
    return this.#recorder.precompile(kernels, onProgress);
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
    return { ...this.#stats, ...this.#recorder.counts };
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
    this.#recorder.write(t, 0, data);
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
    this.#recorder.write(t, offset, values);
  }

  /** A quantized weight to fill with `writeBytes` (see `quantized-weights.ts`, which checks and fills it). */
  allocateQuantized(shape: readonly number[], quant: Omit<QuantStorage, 'scales'>): GpuTensor {
    this.#recorder.beforeAllocate();
    return this.#allocator.allocateQuantized(shape, quant, this.limits.maxStorageBufferBindingSize);
  }

  /** Writes raw bytes into a chunk at a 4-byte aligned offset (packed words, f16 bits). */
  writeBytes(chunk: TensorChunk, byteOffset: number, bytes: Uint8Array): void {
    if (byteOffset % 4 !== 0 || bytes.byteLength % 4 !== 0 || byteOffset + bytes.byteLength > chunk.byteSize) {
      throw new TensorShapeError(`writeBytes: ${bytes.byteLength} bytes at ${byteOffset} do not fit a chunk of ${chunk.byteSize} on 4-byte boundaries`);
    }
    this.#recorder.writeBytes(chunk, byteOffset, bytes);
  }

  /** Same storage, new shape (no copy). Release each view separately. */
  reshape(t: GpuTensor, shape: readonly number[]): GpuTensor {
    return t.view(shape);
  }

  /** Releases a view; the memory goes back to the pool when its last view is released. */
  release(t: GpuTensor): void {
    this.#allocator.release(t);
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
    return this.#allocator.work(run, () => {
      this.#recorder.abandon();
      this.#fault = null;
    });
  }

  /**
   * Runs `load`, whose allocations outlive the unit of work running now (a component a request
   * loads on first use and keeps). Only that request records meanwhile: it awaits the load.
   */
  async keep<R>(load: () => Promise<R>): Promise<R> {
    return this.#allocator.keep(load);
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
    return this.#recorder.read(t.chunks, t.dtype, t.size);
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
    args.bindings.forEach((b, i) => {
      const quantized = b instanceof GpuTensor ? isQuantized(b.dtype) : b.quantized === true;
      if (quantized && !args.quantized?.includes(i)) {
        const what = b instanceof GpuTensor ? `[${b.shape}] is a ${b.dtype}` : 'is a chunk of a';
        throw new TensorShapeError(`${name} binding ${i + 1}: ${what} quantized weight, which this kernel does not dequantize`);
      }
    });
    const chunks = args.bindings.map((b, i) => this.#chunkOf(b, `${name} binding ${i + 1}`));
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    const grid = typeof args.workgroups === 'number' ? foldWorkgroups(args.workgroups, max) : args.workgroups;
    if (grid.some((d) => d > max || d < 0 || !Number.isInteger(d))) {
      throw new TensorShapeError(`${name}: workgroup grid [${grid}] is invalid or exceeds maxComputeWorkgroupsPerDimension = ${max}`);
    }
    if (this.#fault && this.#fault.countdown-- === 0) this.#raiseFault(name, chunks[0]);
    this.#stats.dispatches++;
    for (const c of chunks) if (c.byteSize > this.#stats.largestBindingBytes) this.#stats.largestBindingBytes = c.byteSize;
    const uniforms = packUniforms(kernel.uniforms, args.uniforms ?? {}, name);
    // SHADER_F16 is the device's: every kernel's prelude specialises on it.
    const defines = { ...args.defines, SHADER_F16: this.shaderF16 };
    this.#recorder.dispatch({ kernel, chunks, grid: [grid[0], grid[1], grid[2]], uniforms, defines, constants: args.constants ?? {} });
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
    this.#recorder.copy(s, srcOffset * 4, d, dstOffset * 4, elements * 4);
  }

  /** Submits what was recorded. Cheap when nothing was. */
  flush(): void {
    this.#recorder.flush();
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
    this.#recorder.clearBindGroups();
  }

  /** Flushes, waits for the GPU to finish, and throws the first WebGPU error any recorded command raised. */
  async sync(): Promise<void> {
    await this.#recorder.sync();
  }

  /**
   * The GPU time (smoothed, ms) expected of submissions like the last one `syncPrevious` waited
   * for; null before any, and on a runtime that is not `hostPolling` (it never estimates).
   */
  get gpuWaitEstimateMs(): number | null {
    return this.#recorder.gpuWaitEstimateMs;
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
    await this.#recorder.syncPrevious();
  }

  /** Starts a new peak-bytes measurement. */
  resetPeak(): void {
    this.pool.resetPeak();
  }

  #allocate(shape: readonly number[], dtype: GpuDType, hostWrite: boolean): GpuTensor {
    this.#recorder.beforeAllocate();
    const maxBinding = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    return this.#allocator.allocate(shape, dtype, hostWrite, maxBinding);
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

  #raiseFault(name: string, chunk: TensorChunk | undefined): void {
    const kind = this.#fault!.kind;
    this.#fault = null;
    const what = `injected fault (${kind}) at ${name}`;
    if (kind === 'shape') throw new TensorShapeError(`${name}: ${what}: a tensor larger than maxStorageBufferBindingSize`);
    if (kind === 'host') throw new Error(`${what}: an error in host code mid-recording`);
    this.#recorder.injectDeviceFault(kind, chunk);
  }
}
