import type { DiffusionImage } from '../api/image.js';
import type { DecoderKind } from '../api/request.js';
import type { GpuRuntime } from '../webgpu/runtime.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import { ExecutorUnavailableError } from '../api/errors.js';
import { DiffusersRepo, type JsonObject } from '../io/diffusers-repo.js';
import type { ModelSource } from '../io/sources/model-source.js';
import type { ProgressCallback } from '../io/byte-source.js';
import { parseLenientJson } from '../io/json.js';
import { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import { DeviceStateDict, streamStateDictToDevice } from '../models/device-state-dict.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import { gpuLatentBackend } from '../webgpu/kernels/scheduler-step.js';
import { asF32 } from '../webgpu/kernels/convert.js';
import type { CLIPTextModel } from '../models/clip/clip-text-model.js';
import { checkTokenizerFitsTextEncoder } from '../models/clip/config.js';
import { COMPONENTS, loadVaeDecoder, parseVaeComponent, vaeLatentScaling, vaeScaleFactor } from '../models/registry.js';
import type { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../models/tokenizer/load.js';
import type { UNetConfig } from '../models/unet/config.js';
import type { UNet2DConditionModel } from '../models/unet/unet-2d-condition.js';
import type { AutoencoderKLDecoder } from '../models/vae/autoencoder-kl-decoder.js';
import type { AutoencoderKLEncoder } from '../models/vae/autoencoder-kl-encoder.js';
import type { AutoencoderKLConfig } from '../models/vae/config.js';
import { DiagonalGaussian } from '../models/vae/diagonal-gaussian.js';
import { maxBindingBytes } from '../plan/binding-limit.js';
import { guidanceScaleEmbedding } from '../schedulers/guidance-embedding.js';
import { createScheduler } from '../schedulers/registry.js';
import type { DiffusionComponents } from './components.js';
import { DeviceFitCheck } from './fit-check.js';
import { latentPreview } from './images.js';
import { pipelineDefaults, type ModelDefaults } from './model-defaults.js';
import { checkCapabilities, type JobCapabilities } from './resolve-job.js';
import { resolveWeightFiles, type WeightFile } from './weight-files.js';
import { runTextToImage, type TextToImageHooks, type TextToImageJob, type TextToImageResult } from './text-to-image.js';

export interface PipelineLoadOptions {
  dtype: TensorDType;
  /** A TAESD repo (diffusers `AutoencoderTiny`), for `decoder: 'taesd'`. */
  taesd?: ModelSource | null;
  variant?: string | null;
  signal?: AbortSignal;
  /** Bytes of each weight file as they arrive. */
  onProgress?: ProgressCallback;
  /** The weight files the load will read (model-relative, as `onProgress` names them), once the configs are read and before any weight is. */
  onWeightFiles?: (files: WeightFile[]) => void;
  /** Weight bytes written to the device, as each piece is. */
  onUpload?: (bytes: number) => void;
  /**
   * How the text encoder and UNet (and a VAE without `force_upcast`) store activations:
   * `f16` halves their memory and needs shader-f16. Default `f32`.
   */
  activations?: 'f32' | 'f16';
}

const TAESD_MISSING = 'decoder "taesd" needs a TAESD model: set the config field `taesd` to its repo.';
const TINY_VAE_IMG2IMG = "this model's vae/ is an AutoencoderTiny, whose encoder omni-diffusion does not run; img2img needs a model whose vae/ is an AutoencoderKL";

/** Streams a component's weights straight into device tensors (one tensor in host memory at a time). */
async function streamComponent(
  repo: DiffusersRepo,
  name: string,
  ops: GpuOps,
  options: PipelineLoadOptions,
  skip: ((key: string) => boolean) | null,
): Promise<DeviceStateDict<GpuTensor>> {
  const fetchOptions = { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
  const { path, file } = await repo.openWeights(name, fetchOptions);
  return streamStateDictToDevice(ops, file, {
    file: `${repo.source.id}/${path}`,
    dtype: options.dtype,
    ...(skip ? { skip } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onUpload ? { onUpload: options.onUpload } : {}),
  });
}

/** Builds a model from a streamed checkpoint, then frees whatever it did not take. */
function build<M>(dict: DeviceStateDict<GpuTensor>, load: (dict: DeviceStateDict<GpuTensor>) => M): M {
  try {
    return load(dict);
  } finally {
    dict.releaseUntaken();
  }
}

/** The model's VAE slot: an `AutoencoderKL`, or an `AutoencoderTiny` as diffusers also accepts there. */
interface LoadedVae {
  model: AutoencoderKLDecoder<GpuTensor> | AutoencoderTinyDecoder<GpuTensor>;
  /** How latents map into the decoder (see `vaeLatentScaling`). */
  config: { scalingFactor: number; shiftFactor: number; forceUpcast: boolean };
  /** The `AutoencoderKL` config its img2img encoder is built from; null for an `AutoencoderTiny`, whose encoder is not run. */
  encoderConfig: AutoencoderKLConfig | null;
  scale: number;
}

/**
 * Stable Diffusion text-to-image and img2img (SD 1.x, 2.x, SD-Turbo, LCM, and pixel-space
 * models without a VAE) on our WebGPU kernels: the components of a diffusers repo loaded once,
 * then any number of `generate` calls, each with its own scheduler instance. The VAE encoder
 * is loaded on the first img2img request only, so text-to-image never holds its weights.
 */
export class StableDiffusionPipeline {
  #encoder: Promise<AutoencoderKLEncoder<GpuTensor>> | null = null;

  private constructor(
    private readonly repo: DiffusersRepo,
    private readonly dtype: TensorDType,
    private readonly ops: GpuOps,
    private readonly tokenizer: CLIPTokenizer,
    private readonly textEncoder: CLIPTextModel<GpuTensor>,
    private readonly unetModel: UNet2DConditionModel<GpuTensor>,
    private readonly unetConfig: UNetConfig,
    private readonly vae: LoadedVae | null,
    private readonly taesd: AutoencoderTinyDecoder<GpuTensor> | null,
    private readonly schedulerConfig: JsonObject,
    private readonly fit: DeviceFitCheck,
    readonly defaults: ModelDefaults,
    /** How the text encoder and UNet store activations (see `PipelineLoadOptions.activations`). */
    readonly activations: 'f32' | 'f16',
  ) {}

  /**
   * Loads every component of the repo at `source` onto `runtime`. The configs are read first
   * and the model is planned under the runtime's limits before any weight is downloaded: a
   * model that cannot run on this device at any size fails with `ExecutorUnavailableError`.
   */
  static async load(source: ModelSource, runtime: GpuRuntime, options: PipelineLoadOptions): Promise<StableDiffusionPipeline> {
    if (options.activations === 'f16' && !runtime.shaderF16) {
      throw new ExecutorUnavailableError('f16 activations need the shader-f16 feature, which this WebGPU device lacks; use activations f32.');
    }
    const repo = await DiffusersRepo.open(source, { variant: options.variant ?? null });
    const ops = new GpuOps(runtime);
    const signal = options.signal;
    const uploaded: Array<{ release(): void }> = [];
    try {
      const tokenizer = await loadCLIPTokenizer(source, 'tokenizer', signal ? { signal } : {});
      const clipJson = await repo.readConfig('text_encoder');
      const clipConfig = COMPONENTS.text_encoder.parseConfig(clipJson, `${source.id}/text_encoder/config.json`);
      checkTokenizerFitsTextEncoder(tokenizer.modelMaxLength, `${source.id}/tokenizer/tokenizer_config.json`, clipConfig, `${source.id}/text_encoder/config.json`);
      const unetJson = await repo.readConfig('unet');
      const unetConfig = COMPONENTS.unet.parseConfig(unetJson, `${source.id}/unet/config.json`);
      const vaeJson = repo.hasComponent('vae') ? await repo.readConfig('vae') : null;
      const vaeComponent = vaeJson && parseVaeComponent(vaeJson, `${source.id}/vae/config.json`);
      const taesdSource = options.taesd ?? null;
      const taesdJson = taesdSource && parseLenientJson(await taesdSource.readText('config.json'), `${taesdSource.id}/config.json`);
      const taesdConfig = taesdSource && COMPONENTS.taesd_decoder.parseConfig(taesdJson, `${taesdSource.id}/config.json`);
      const vaeScale = vaeComponent ? vaeScaleFactor(vaeComponent) : 1;
      const fit = new DeviceFitCheck(
        { unet: unetJson, textEncoder: clipJson, source: source.id, ...(vaeJson ? { vae: vaeJson } : {}), ...(taesdJson ? { taesd: taesdJson } : {}) },
        runtime.capabilities,
        options.dtype,
        vaeScale,
      );
      fit.checkModel();
      if (options.onWeightFiles) {
        const components = ['text_encoder', 'unet', ...(vaeComponent ? ['vae'] : [])];
        options.onWeightFiles(await resolveWeightFiles(repo, components, signal));
      }

      const textEncoder = build(await streamComponent(repo, 'text_encoder', ops, options, COMPONENTS.text_encoder.unusedKey), (d) =>
        COMPONENTS.text_encoder.load(ops, clipConfig, d, { dtype: options.dtype }),
      );
      uploaded.push(textEncoder);
      // The UNet splits its feed-forward to fit the device's bindings, as the plan above did.
      const unetOptions = { dtype: options.dtype, maxBindingBytes: maxBindingBytes(runtime.limits) };
      const unetModel = build(await streamComponent(repo, 'unet', ops, options, COMPONENTS.unet.unusedKey), (d) => COMPONENTS.unet.load(ops, unetConfig, d, unetOptions));
      uploaded.push(unetModel);
      let vae: StableDiffusionPipeline['vae'] = null;
      if (vaeComponent) {
        const component = vaeComponent;
        const dict = await streamComponent(repo, 'vae', ops, options, COMPONENTS[component.kind].unusedKey);
        const model = build(dict, (d) => loadVaeDecoder(ops, component, d, { dtype: options.dtype }));
        uploaded.push(model);
        const encoderConfig = component.kind === 'vae_decoder' ? component.config : null;
        vae = { model, config: vaeLatentScaling(component), encoderConfig, scale: vaeScale };
      }
      let taesd: AutoencoderTinyDecoder<GpuTensor> | null = null;
      if (taesdSource && taesdConfig) {
        const cfg = taesdConfig;
        const path = 'diffusion_pytorch_model.safetensors';
        const dict = await streamStateDictToDevice(ops, await taesdSource.fetchFile(path, signal ? { signal } : {}), {
          file: `${taesdSource.id}/${path}`,
          dtype: options.dtype,
          skip: COMPONENTS.taesd_decoder.unusedKey!,
          ...(signal ? { signal } : {}),
        });
        taesd = build(dict, (d) => COMPONENTS.taesd_decoder.load(ops, cfg, d, { dtype: options.dtype }));
        uploaded.push(taesd);
      }
      const schedulerConfig = await repo.readConfig('scheduler');
      const defaults = pipelineDefaults(repo.modelIndex.raw, unetConfig, schedulerConfig, vae?.scale ?? 1, source.id);
      const activations = options.activations ?? 'f32';
      return new StableDiffusionPipeline(repo, options.dtype, ops, tokenizer, textEncoder, unetModel, unetConfig, vae, taesd, schedulerConfig, fit, defaults, activations);
    } catch (err) {
      for (const m of uploaded) m.release();
      throw err;
    }
  }

  /**
   * The VAE encoder, streamed from the VAE checkpoint (its `encoder.*` and `quant_conv.*` keys
   * only) on first use; a failed or aborted load is retried by the next request.
   */
  #imageEncoder(vae: LoadedVae, signal: AbortSignal | undefined): Promise<AutoencoderKLEncoder<GpuTensor>> {
    const config = vae.encoderConfig;
    // Not a user's error: `generate` refuses img2img on an AutoencoderTiny VAE before any work
    // (`RequestValidationError` naming `image`), so only a broken caller inside the pipeline gets here.
    if (!config) return Promise.reject(new RangeError(`#imageEncoder called without an AutoencoderKL encoder: ${TINY_VAE_IMG2IMG}.`));
    if (!this.#encoder) {
      const ops = this.ops;
      const options = { dtype: this.dtype, ...(signal ? { signal } : {}) };
      // Loaded inside a request's unit of work, kept after it: not the request's to give back if it fails.
      this.#encoder = ops.runtime
        .keep(() =>
          streamComponent(this.repo, 'vae', ops, options, COMPONENTS.vae_encoder.unusedKey).then((dict) => build(dict, (d) => COMPONENTS.vae_encoder.load(ops, config, d, { dtype: this.dtype }))),
        )
        .catch((err: unknown) => {
          this.#encoder = null;
          throw err;
        });
    }
    return this.#encoder;
  }

  /** What a job on this pipeline may ask for, as `resolveJob` checks it. */
  get capabilities(): JobCapabilities {
    return {
      executor: 'webgpu',
      decoders: this.taesd ? ['vae', 'taesd'] : ['vae'],
      decoderHint: TAESD_MISSING,
      // An AutoencoderTiny in vae/ decodes only: its encoder is not run.
      img2img: this.vae === null || this.vae.encoderConfig !== null,
      ...(this.vae && !this.vae.encoderConfig ? { img2imgHint: TINY_VAE_IMG2IMG } : {}),
      latentChannels: this.unetConfig.inChannels,
      vaeScaleFactor: this.vae?.scale ?? 1,
    };
  }

  /**
   * Runs one text-to-image or img2img job (see `resolveJob`) with its scheduler (`euler`,
   * `DDIMScheduler`, ...; left out, the model's). A job this device cannot run (its size,
   * images and decoder planned under the device's limits) fails with `DeviceLimitError` before
   * any GPU work or download.
   */
  async generate(job: TextToImageJob, hooks: TextToImageHooks<GpuTensor> = {}): Promise<TextToImageResult> {
    const timeCond = this.unetConfig.timeCondProjDim;
    // LCM distils guidance into the UNet: the scale goes in as an embedding, and the loop runs
    // without an unconditional pass, as diffusers' LatentConsistencyModelPipeline does.
    const condEmbedding = timeCond !== null ? guidanceScaleEmbedding(job.guidanceScale - 1, timeCond) : null;
    // Its img2img takes the low-noise part of the distillation schedule (LatentConsistencyModelImg2ImgPipeline).
    const loopJob: TextToImageJob = condEmbedding ? { ...job, guidanceScale: 1, strengthSchedule: 'lcm' } : job;
    // The executors' `resolveJob` has checked this already; callers that build jobs themselves get the same error.
    checkCapabilities({ image: job.init?.image, decoder: job.decoder }, this.capabilities);
    const images = job.numImages;
    this.fit.check({
      width: job.width,
      height: job.height,
      batch: loopJob.guidanceScale > 1 ? 2 * images : images,
      images,
      decoder: job.decoder,
      img2img: job.init !== undefined,
    });
    const latents = gpuLatentBackend(this.ops.runtime);
    const scheduler = createScheduler<GpuTensor>(job.scheduler ?? this.defaults.scheduler, this.schedulerConfig, { backend: latents });
    const ops = this.ops;
    const vae = this.vae;
    const taesd = this.taesd;
    const rt = ops.runtime;
    const unetForward = (sample: GpuTensor, t: number, ehs: GpuTensor): GpuTensor => {
      const B = sample.shape[0]!;
      if (!condEmbedding) return this.unetModel.forward(sample, Array<number>(B).fill(t), ehs);
      const rows = new Float32Array(B * condEmbedding.length);
      for (let b = 0; b < B; b++) rows.set(condEmbedding, b * condEmbedding.length);
      const cond = ops.upload(rows, [B, condEmbedding.length]);
      try {
        return this.unetModel.forward(sample, Array<number>(B).fill(t), ehs, cond);
      } finally {
        ops.release(cond);
      }
    };
    const decode = (x: GpuTensor, decoder: DecoderKind): GpuTensor => {
      if (decoder === 'taesd') {
        // Not a user's error: `generate` refused decoder 'taesd' without a TAESD above (`RequestValidationError` naming `decoder`).
        if (!taesd) throw new RangeError(`decode called with decoder 'taesd' on a pipeline without one: ${TAESD_MISSING}`);
        const out = taesd.decode(x);
        const img = ops.scale(out, 0.5, 0.5);
        ops.release(out);
        return img;
      }
      if (!vae) return ops.scale(x, 0.5, 0.5);
      const scaled = ops.scale(x, 1 / vae.config.scalingFactor, vae.config.shiftFactor);
      const out = vae.model.decode(scaled);
      ops.release(scaled);
      const img = ops.scale(out, 0.5, 0.5);
      ops.release(out);
      return img;
    };
    const components: DiffusionComponents<GpuTensor> = {
      latents,
      latentChannels: this.unetConfig.inChannels,
      vaeScaleFactor: vae?.scale ?? 1,
      sampleSize: this.unetConfig.sampleSize,
      decoders: taesd ? ['vae', 'taesd'] : ['vae'],
      encodeText: (ids, batch) => {
        const out = rt.withActivations(this.activations, () => this.textEncoder.forward(ids, [batch, ids.length / batch]));
        ops.release(out.poolerOutput);
        return out.lastHiddenState;
      },
      // The scheduler works on f32 latents: an f16 UNet output is widened once, at the end.
      unet: (sample, t, ehs) => asF32(rt, rt.withActivations(this.activations, () => unetForward(sample, t, ehs))),
      decode: (x, decoder: DecoderKind) => {
        // diffusers runs a VAE whose config sets `force_upcast` in float32 (it overflows in
        // fp16); TAESD and other VAEs use the pipeline's activations.
        const dtype = decoder === 'vae' && vae?.config.forceUpcast ? 'f32' : this.activations;
        return asF32(rt, rt.withActivations(dtype, () => decode(x, decoder)));
      },
      encodeImage: async (image) => {
        if (!vae) return null;
        const encoder = await this.#imageEncoder(vae, hooks.signal);
        const moments = rt.withActivations(vae.config.forceUpcast ? 'f32' : this.activations, () => encoder.encode(image));
        try {
          const posterior = new DiagonalGaussian(await ops.read(moments), moments.shape);
          return { posterior, scalingFactor: vae.config.scalingFactor, shiftFactor: vae.config.shiftFactor };
        } finally {
          ops.release(moments);
        }
      },
      sliceBatch: (x, start, end) => ops.sliceBatch(x, start, end),
      concatBatch: (a, b) => {
        const fa = ops.reshape(a, [1, a.size]);
        const fb = ops.reshape(b, [1, b.size]);
        const joined = ops.concatChannels(fa, fb);
        ops.release(fa);
        ops.release(fb);
        const out = ops.reshape(joined, [a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)]);
        ops.release(joined);
        return out;
      },
    };
    // A failure anywhere in the job leaves the runtime clean for the next one (see GpuRuntime.work).
    return rt.work(() => runTextToImage(components, (prompts) => this.tokenizer.call(prompts), scheduler, loopJob, hooks));
  }

  /**
   * Submits the recorded step and resolves when the GPU has finished the step before it (no
   * readback): one step stays in flight while the caller records the next.
   */
  async stepDone(): Promise<void> {
    await this.ops.runtime.syncPrevious();
  }

  /** A cheap preview of the first image of `latents`: one small readback, no decoder. */
  async preview(latents: GpuTensor): Promise<DiffusionImage> {
    const [, c, h, w] = latents.shape as [number, number, number, number];
    const data = await this.ops.read(latents);
    return latentPreview(data, c, h, w);
  }

  /** Frees every weight; the VAE encoder's when its load settles, should it still be loading. */
  release(): void {
    this.#encoder?.then(
      (encoder) => encoder.release(),
      () => undefined,
    );
    this.#encoder = null;
    this.textEncoder.release();
    this.unetModel.release();
    this.vae?.model.release();
    this.taesd?.release();
  }
}
