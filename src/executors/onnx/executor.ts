import { failedOutput, type DiffusionMetrics, type DiffusionOutput } from '../../api/output.js';
import type { DiffusionRequest } from '../../api/request.js';
import { AbortError, ConfigValidationError, EngineClosedError, ExecutorUnavailableError, OmniDiffusionError } from '../../api/errors.js';
import { cachedModelSource } from '../../io/sources/cached-source.js';
import { LoadProgressTracker } from '../../api/load-progress-tracker.js';
import { fileSizes } from '../../pipelines/weight-files.js';
import { toRgbaImages } from '../../pipelines/images.js';
import { pipelineDefaults, type ModelDefaults } from '../../pipelines/model-defaults.js';
import { jobRequestOf, resolveJob } from '../../pipelines/resolve-job.js';
import { runTextToImage } from '../../pipelines/text-to-image.js';
import { clipPromptEncoder } from '../../pipelines/conditioning.js';
import type { HostTensor } from '../../schedulers/latents.js';
import { createScheduler } from '../../schedulers/registry.js';
import { DiffusionExecutor } from '../executor.js';
import { loadOnnxStableDiffusion, ONNX_DECODER_HINT, type LoadOnnxOptions, type OnnxStableDiffusion } from './components.js';
import { ONNX_NETWORK_FILES } from './layout.js';
import { ONNX_OPTION_KEYS, readOnnxOptions } from './options.js';
import type { OnnxExecutionProvider } from './session.js';

/**
 * The `onnx` executor: ONNX Stable Diffusion exports (the layout of diffusers'
 * `OnnxStableDiffusionPipeline`: `text_encoder/`, `unet/`, `vae_decoder/` with `model.onnx`,
 * `tokenizer/`, `scheduler/`) through onnxruntime-web, on its WebGPU EP in browsers that have
 * an adapter and on its wasm EP elsewhere (Node, browsers without WebGPU). Configure it with
 * `modelNameOrPath` (Hub id, URL or folder) and optionally `onnx: { executionProvider }`.
 *
 * - onnxruntime-web is imported when the executor initialises; when it cannot be loaded,
 *   `initExecutor` throws `ExecutorUnavailableError`, so a configured `fallback` takes over.
 * - Requests run one at a time, in order, also across `executeModel` calls. The denoising loop
 *   is the shared `runTextToImage` (diffusers' `StableDiffusionPipeline`); latents and the
 *   scheduler live on the CPU, only the three networks run in onnxruntime-web.
 * - Defaults for fields a request leaves out: steps and guidance as the webgpu executor picks
 *   them (`samplingDefaults`: the model's `_omni_diffusion_defaults`, else 1 step without guidance
 *   for `trailing` timestep spacing (SD-Turbo), 4 at 8 for an `LCMScheduler`, 25 at 7.5); the size is
 *   `sample_size` × 8 from `unet/config.json`, 512 when the export has none; the scheduler is
 *   the config's `_class_name`; the seed is drawn at random and reported.
 * - `signal` cancels a request between steps (`errorName` `AbortError`); the engine stays
 *   usable. `close()` cancels the request in flight the same way, then releases the sessions.
 * - Only the model's VAE decodes (`decoder: 'taesd'` is refused); img2img is not supported.
 * - Metrics: `totalMs`, `perStepMs`, `seeds`, `executor: 'onnx'`, `ep` (`webgpu` or `wasm`),
 *   and the time spent in each network (`encodeMs`, `unetMs`, `decodeMs`).
 */
export class OnnxDiffusionExecutor extends DiffusionExecutor {
  static override readonly configKeys: readonly string[] = ONNX_OPTION_KEYS;
  static override readonly shorthand = 'onnx';
  readonly #shutdown = new AbortController();
  #model: OnnxStableDiffusion | null = null;
  #defaults: ModelDefaults | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  /** Loads onnxruntime-web and the model, and creates the three sessions. */
  async initExecutor(): Promise<void> {
    const name = this.config.modelNameOrPath;
    if (!name) throw new ExecutorUnavailableError('The onnx executor needs DiffusionConfig.modelNameOrPath (a Hub id, URL or folder of an ONNX export).');
    const options = readOnnxOptions(this.config.onnx);
    // Refused rather than dropped: prompts with an embedding's token would silently mean something else.
    if (this.config.embeddings?.length) throw new ConfigValidationError('embeddings', this.config.embeddings, 'absent on the onnx executor, which does not load textual-inversion embeddings (the webgpu executor does)');
    if (this.config.dtype === 'int8' || this.config.dtype === 'int4') {
      throw new ConfigValidationError('dtype', this.config.dtype, "'auto', 'f32' or 'f16' on the onnx executor, which runs the export's own weights (int8 and int4 quantize as a webgpu model loads)");
    }
    const source = typeof name === 'string' ? await cachedModelSource(name) : name;
    const listener = this.loadProgressListener;
    const tracker = listener ? new LoadProgressTracker(listener) : null;
    let progress: Pick<LoadOnnxOptions, 'onProgress' | 'onSession'> = {};
    if (tracker) {
      tracker.resolve(await fileSizes(source, Object.values(ONNX_NETWORK_FILES), this.#shutdown.signal));
      // Session creation is this executor's compile phase: onnxruntime builds its kernels there.
      let compileStart: number | null = null;
      progress = {
        onProgress: (p) => tracker.bytes(p),
        onSession: (done, total) => tracker.compile(done, total, performance.now() - (compileStart ??= performance.now())),
      };
    }
    const model = await loadOnnxStableDiffusion(source, { ...options, ...progress, signal: this.#shutdown.signal });
    tracker?.ready();
    const c = model.components;
    // An ONNX export carries no LCM guidance embedding input: guidance is never embedded here.
    this.#defaults = pipelineDefaults(model.modelIndex, { sampleSize: c.sampleSize, timeCondProjDim: null, additionEmbed: null }, model.schedulerConfig, c.vaeScaleFactor, source.id);
    this.#model = model;
  }

  /** The defaults requests fall back to; null before `initExecutor`. */
  get defaults(): ModelDefaults | null {
    return this.#defaults;
  }

  /** The execution provider the sessions run on; null before `initExecutor`. */
  get executionProvider(): OnnxExecutionProvider | null {
    return this.#model?.components.executionProvider ?? null;
  }

  /** Runs the requests one after another, after any requests already queued; one output per request, in order. */
  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    let model: OnnxStableDiffusion;
    try {
      model = this.#usableModel();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.#queue.then(async () => {
      const outputs: DiffusionOutput[] = [];
      for (const request of requests) outputs.push(await this.#runOne(model, request));
      return outputs;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  override async checkHealth(): Promise<void> {
    this.#usableModel();
  }

  /** Cancels the request in flight (its output gets an `AbortError`), lets the queue drain, and releases the sessions. */
  override async shutdown(): Promise<void> {
    this.#shutdown.abort(new AbortError('The onnx executor was shut down.'));
    await this.#queue;
    await this.#model?.components.release();
    this.#model = null;
  }

  #usableModel(): OnnxStableDiffusion {
    if (this.#shutdown.signal.aborted) throw new EngineClosedError('The onnx executor was shut down; create a new engine.');
    if (!this.#model) throw new OmniDiffusionError('The onnx executor is not initialised: call initExecutor() (DiffusionEngine.create does).');
    return this.#model;
  }

  async #runOne(model: OnnxStableDiffusion, request: DiffusionRequest): Promise<DiffusionOutput> {
    const started = performance.now();
    const { components, tokenizer } = model;
    components.resetTimings();
    const metrics = (): DiffusionMetrics => ({ totalMs: performance.now() - started, executor: 'onnx', ep: components.executionProvider, ...components.timings });
    try {
      // Text-to-image only, and only the model's VAE: an init image or `decoder: 'taesd'` is refused by name.
      const job = resolveJob(jobRequestOf(request), this.#defaults!, {
        executor: 'onnx',
        decoders: components.decoders,
        decoderHint: ONNX_DECODER_HINT,
        img2img: false,
        latentChannels: components.latentChannels,
        vaeScaleFactor: components.vaeScaleFactor,
      });
      const scheduler = createScheduler<HostTensor>(job.scheduler, model.schedulerConfig);
      const signals = request.signal ? [this.#shutdown.signal, request.signal] : [this.#shutdown.signal];
      const result = await runTextToImage(components, clipPromptEncoder((prompts) => tokenizer.call(prompts), (ids, rows) => components.encodeText(ids, rows)), scheduler, job, {
        signal: AbortSignal.any(signals),
        onStep: (step, total) => request.onProgress?.({ requestId: request.requestId, step, total, elapsedMs: performance.now() - started }),
      });
      const steps = result.trajectoryTimesteps.length;
      return {
        requestId: request.requestId,
        images: toRgbaImages(result.images, job.numImages, result.seeds, job.height, job.width),
        error: null,
        errorName: null,
        trajectoryLatents: result.trajectoryLatents,
        trajectoryTimesteps: request.returnTrajectoryLatents ? result.trajectoryTimesteps : null,
        ...(result.intermediates ? { intermediates: result.intermediates } : {}),
        metrics: { ...metrics(), perStepMs: steps > 0 ? result.loopMs / steps : 0, seeds: result.seeds },
      };
    } catch (err) {
      const out = failedOutput(request.requestId, err);
      out.metrics = metrics();
      return out;
    }
  }
}
