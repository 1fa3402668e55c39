import type { DiffusionImage } from '../api/image.js';
import { AbortError, ConfigValidationError, ExecutorUnavailableError } from '../api/errors.js';
import type { LoadProgress, LoadProgressCallback } from '../api/load-progress.js';
import { LoadProgressTracker } from '../api/load-progress-tracker.js';
import { GpuContext } from '../webgpu/device.js';
import { GpuDeviceLostError } from '../webgpu/errors.js';
import type { GpuFault } from '../webgpu/fault.js';
import { SIZE_LIMITS } from '../webgpu/limits.js';
import { cachedModelSource } from '../io/sources/cached-source.js';
import type { ModelSource } from '../io/sources/model-source.js';
import { toRgbaImages } from '../pipelines/images.js';
import { resolveJob } from '../pipelines/resolve-job.js';
import { warmupJobs } from '../pipelines/warmup-jobs.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../quant/policy.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import { StableDiffusionPipeline } from '../pipelines/stable-diffusion.js';
import { AUTO_TAESD, taesdRepoFor } from '../pipelines/taesd-repo.js';
import type { EmbeddingFileSpec } from '../pipelines/textual-inversion.js';
import { readEmbeddingFiles } from './embedding-files.js';
import { NO_HOST_MEMORY, type EngineHostApi, type HostInfo, type HostMemory, type ModelSpec, type WireProgress, type WireRequest, type WireResult } from './protocol.js';

/**
 * Owns the GPU device and the loaded model, and runs one request at a time. It is the worker
 * side of the WebGPU executor (exposed through comlink in the browser) and runs in-process in
 * Node. After a device loss, the request in flight fails with `GpuDeviceLostError`; the next
 * request re-creates the device and reloads the model (from the cache, without network I/O).
 */
export class EngineHost implements EngineHostApi {
  #ctx: GpuContext | null = null;
  #spec: ModelSpec | null = null;
  #source: ModelSource | null = null;
  #taesd: ModelSource | null = null;
  #vae: ModelSource | null = null;
  /** The config's embedding files, read once per `load` (see `readEmbeddingFiles`). */
  #embeddings: EmbeddingFileSpec[] = [];
  #pipeline: StableDiffusionPipeline | null = null;
  #lost: GpuDeviceLostError | null = null;
  #cancelled = new Set<string>();
  #inFlight = 0;
  #info: HostInfo | null = null;

  async load(spec: ModelSpec, onLoadProgress?: LoadProgressCallback): Promise<HostInfo> {
    if (!spec.modelNameOrPath) throw new ConfigValidationError('modelNameOrPath', spec.modelNameOrPath, 'a Hub id, URL or local folder');
    this.#spec = spec;
    // A source object is the caller's own (synthetic weights, say): read as it is, never cached.
    this.#source = spec.source ?? (await cachedModelSource(spec.modelNameOrPath, { configFrom: spec.configFrom ?? null }));
    // `auto`: the TAESD for the model's family (SDXL latents need taesdxl), read from its model_index.json.
    const taesd = spec.taesd === AUTO_TAESD ? await taesdRepoFor(this.#source) : spec.taesd;
    this.#taesd = taesd ? await cachedModelSource(taesd) : null;
    this.#vae = spec.vae ? await cachedModelSource(spec.vae) : null;
    this.#embeddings = await readEmbeddingFiles(spec.embeddings ?? []);
    this.#ctx = await GpuContext.create(spec.gpuLimits === 'default' ? {} : { adapterLimits: SIZE_LIMITS });
    this.#ctx.onLost((event) => {
      this.#lost = new GpuDeviceLostError(event.reason, event.message);
    });
    if (!onLoadProgress) return this.#loadPipeline(null);
    // Across a channel each call returns a promise that settles once the caller has run it; the
    // events travel on their own port, so `ready`'s answer is awaited before load() answers on
    // this one: every event then reaches the caller before the load's result.
    let last: unknown;
    const emit = (event: LoadProgress): void => {
      try {
        last = onLoadProgress(event);
        (last as Promise<void> | undefined)?.catch?.(() => undefined);
      } catch {
        // The caller's callback is its own business; a load never fails for it.
      }
    };
    const tracker = new LoadProgressTracker(emit);
    const info = await this.#loadPipeline(tracker);
    tracker.ready();
    await Promise.resolve(last).catch(() => undefined);
    return info;
  }

  /** Loads the model onto the device; `tracker` (null: nobody listens) sees its files, bytes, uploads and compiles. */
  async #loadPipeline(tracker: LoadProgressTracker | null): Promise<HostInfo> {
    const ctx = this.#ctx!;
    const requested = this.#spec!.dtype;
    // int8/int4: the quantized weights' dtype; every other weight is f16 (packed where shader-f16 is missing).
    const quantize = requested === 'int8' || requested === 'int4' ? defaultQuantPolicy(QUANTIZED_DTYPES[requested]) : null;
    const dtype: TensorDType = requested === 'f32' || (requested === 'auto' && !ctx.capabilities.shaderF16) ? 'f32' : 'f16';
    this.#pipeline?.release();
    const wanted = this.#spec!.activations ?? 'auto';
    const activations = wanted === 'auto' ? (dtype === 'f16' && ctx.capabilities.shaderF16 ? 'f16' : 'f32') : wanted;
    const compiledBefore = ctx.runtime.stats.pipelinesCompiled;
    this.#pipeline = await StableDiffusionPipeline.load(this.#source!, ctx.runtime, {
      dtype,
      taesd: this.#taesd,
      vae: this.#vae,
      variant: this.#spec!.variant ?? null,
      activations,
      quantize,
      loraNames: this.#spec!.loraNames ?? {},
      embeddings: this.#embeddings,
      ...(tracker
        ? {
            onProgress: (p) => tracker.bytes(p),
            onWeightFiles: (files) => tracker.resolve(files),
            onUpload: (bytes, total) => tracker.upload(bytes, total),
          }
        : {}),
    });
    tracker?.flushUpload();
    // Weight conversions compiled their kernels during the upload; they count in the phase too.
    const converted = ctx.runtime.stats.pipelinesCompiled - compiledBefore;
    const compileStart = performance.now();
    await ctx.runtime.precompile(await this.#pipeline.kernelsFor(warmupJobs(this.#pipeline)), (done, total) =>
      tracker?.compile(converted + done, converted + total, performance.now() - compileStart),
    );
    const info = ctx.adapter.info;
    this.#info = {
      adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter',
      features: [...ctx.device.features],
      limits: {
        maxStorageBufferBindingSize: ctx.capabilities.limits.maxStorageBufferBindingSize,
        maxBufferSize: ctx.capabilities.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: ctx.capabilities.limits.maxComputeWorkgroupStorageSize,
      },
      model: this.#source!.id,
      defaults: this.#pipeline.defaults,
    };
    return this.#info;
  }

  /** Re-creates a lost device and reloads the model onto it. */
  async #recover(): Promise<void> {
    this.#pipeline = null;
    await this.#ctx!.recreate();
    this.#lost = null;
    await this.#loadPipeline(null);
  }

  async generate(request: WireRequest, onProgress?: (p: WireProgress) => void): Promise<WireResult> {
    if (!this.#ctx || !this.#spec) throw new ExecutorUnavailableError('EngineHost.generate called before load().');
    if (this.#lost || !this.#pipeline) await this.#recover();
    const pipeline = this.#pipeline!;
    this.#inFlight++;
    const started = performance.now();
    /** The last step reported as finished on the GPU. */
    let reported = 0;
    const abort = new AbortController();
    const checkCancel = (): void => {
      if (this.#cancelled.delete(request.requestId)) abort.abort(new AbortError(`Request ${request.requestId} was cancelled.`));
    };
    try {
      const job = resolveJob(request, pipeline.defaults, pipeline.capabilities);
      const result = await pipeline.generate(
        job,
        {
          signal: abort.signal,
          onStep: async (step, total, latents) => {
            // Submit this step and wait for the one before it: the GPU runs this step while the
            // next is recorded, and a cancel posted meanwhile is still seen before that.
            await pipeline.stepDone();
            checkCancel();
            if (this.#lost) throw this.#lost;
            // Progress counts steps the GPU has finished, not steps recorded: here that is the
            // previous one, unless this step's own completion is awaited anyway (its preview
            // reads the latents back; the last step is waited for so that it is not reported early).
            let preview: DiffusionImage | undefined;
            if (request.preview) preview = await pipeline.preview(latents);
            else if (step === total) await pipeline.stepDone();
            const done = request.preview || step === total ? step : step - 1;
            for (let s = reported + 1; s <= done; s++) {
              onProgress?.({ step: s, total, elapsedMs: performance.now() - started, ...(preview && s === step ? { preview } : {}) });
            }
            reported = Math.max(reported, done);
          },
        },
      );
      const totalMs = performance.now() - started;
      const steps = result.trajectoryTimesteps.length;
      return {
        images: toRgbaImages(result.images, request.numOutputsPerPrompt, result.seeds, job.height, job.width),
        trajectoryLatents: result.trajectoryLatents,
        trajectoryTimesteps: request.returnTrajectoryLatents ? result.trajectoryTimesteps : null,
        ...(result.intermediates ? { intermediates: result.intermediates } : {}),
        metrics: { totalMs, perStepMs: steps > 0 ? result.loopMs / steps : 0, seeds: result.seeds, executor: 'webgpu', adapter: this.#info?.adapter },
      };
    } catch (err) {
      if (this.#lost) throw this.#lost;
      throw err;
    } finally {
      this.#cancelled.delete(request.requestId);
      this.#inFlight--;
      // Activations of a finished request would otherwise stay reserved until the next one: on a
      // shared GPU (a browser tab) that memory belongs back to the system while the engine idles.
      if (this.#inFlight === 0 && !this.#lost) this.#releaseIdle();
    }
  }

  #releaseIdle(): void {
    try {
      this.#ctx?.runtime.releaseIdle();
    } catch (err) {
      // A device lost mid-request surfaces here before its lost promise settles; the request
      // already carries that failure and the next one recovers the device.
      if (!(err instanceof GpuDeviceLostError)) throw err;
    }
  }

  cancel(requestId: string): void {
    this.#cancelled.add(requestId);
  }

  memory(): HostMemory {
    const stats = this.#ctx?.runtime.pool.stats;
    return stats ? { liveBytes: stats.liveBytes, peakBytes: stats.peakBytes, reservedBytes: stats.reservedBytes } : { ...NO_HOST_MEMORY };
  }

  loseDevice(): void {
    this.#ctx?.destroy();
  }

  injectFault(fault: GpuFault): void {
    if (!this.#ctx) throw new ExecutorUnavailableError('EngineHost.injectFault called before load().');
    this.#ctx.runtime.injectFault(fault);
  }

  async dispose(): Promise<void> {
    this.#pipeline?.release();
    this.#pipeline = null;
    this.#ctx?.destroy();
    this.#ctx = null;
  }
}
