import { LoraLibrary } from './lora/lora-library.js';
import type { DiffusionImage } from '../api/image.js';
import type { DecoderKind } from '../api/request.js';
import { GpuRuntime } from '../webgpu/runtime.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import { ExecutorUnavailableError } from '../api/errors.js';
import { DiffusersRepo, type JsonObject } from '../io/diffusers-repo.js';
import type { ModelSource } from '../io/sources/model-source.js';
import { parseLenientJson } from '../io/json.js';
import { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import { gpuLatentBackend } from '../webgpu/kernels/scheduler-step.js';
import { asF32 } from '../webgpu/kernels/convert.js';
import type { CLIPTextModel } from '../models/clip/clip-text-model.js';
import { COMPONENTS, parseVaeComponent, vaeScaleFactor } from '../models/registry.js';
import type { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import type { UNetConfig } from '../models/unet/config.js';
import type { UNet2DConditionModel } from '../models/unet/unet-2d-condition.js';
import type { AutoencoderKLEncoder } from '../models/vae/autoencoder-kl-encoder.js';
import { DiagonalGaussian } from '../models/vae/diagonal-gaussian.js';
import { guidanceScaleEmbedding } from '../schedulers/guidance-embedding.js';
import { createScheduler } from '../schedulers/registry.js';
import type { DiffusionComponents } from './components.js';
import { DeviceFitCheck } from './fit-check.js';
import { DeviceLimitError } from '../plan/errors.js';
import { ModelConfigError } from '../models/errors.js';
import { SD_LATENT_RGB, SDXL_LATENT_RGB } from './images.js';
import { previewImage } from './preview.js';
import { pipelineDefaults, type ModelDefaults } from './model-defaults.js';
import { checkCapabilities, type JobCapabilities } from './resolve-job.js';
import { resolveWeightFiles, TAESD_PROGRESS_PREFIX, TAESD_WEIGHTS } from './weight-files.js';
import { fetchOptionsOf, streamCheckpoint, streamComponent, withProgressPrefix, type StreamOptions } from './stream-weights.js';
import { VaeOverride } from './vae-override.js';
import { buildPipelineModels, releasePipelineModels, type LoadedVae, type PipelineConfigs, type PipelineModels } from './pipeline-models.js';
import { KernelSet } from '../webgpu/kernel-set.js';
import { SyntheticStateDict } from '../plan/synthetic-weights.js';
import type { WeightOptions } from '../models/weights.js';
import { isPrequantized, prequantizedPolicies, readPrequantizedConfigs } from './prequantized.js';
import { runTextToImage, type TextToImageHooks, type TextToImageJob, type TextToImageResult } from './text-to-image.js';
import type { UNetConditioning } from './conditioning.js';
import { concatBatch, gpuPromptEncoder } from './gpu-prompt-encoder.js';
import { readTextSide, type TextSide } from './text-side.js';
import { AddedTokenEmbeddings } from '../models/clip/added-token-embeddings.js';
import { convertingPrompts, readTextualInversions } from './textual-inversion.js';

import type { PipelineLoadOptions } from './pipeline-load-options.js';

export type { PipelineLoadOptions };

const TAESD_MISSING = 'decoder "taesd" needs a TAESD model: set the config field `taesd` to its repo.';
const TINY_VAE_IMG2IMG = "this model's vae/ is an AutoencoderTiny, whose encoder omni-diffusion does not run; img2img needs a model whose vae/ is an AutoencoderKL";

/**
 * Stable Diffusion text-to-image and img2img (SD 1.x, 2.x, SD-Turbo, LCM, and pixel-space
 * models without a VAE) on our WebGPU kernels: the components of a diffusers repo loaded once,
 * then any number of `generate` calls, each with its own scheduler instance. The VAE encoder
 * is loaded on the first img2img request only, so text-to-image never holds its weights.
 */
export class StableDiffusionPipeline {
  #encoder: Promise<AutoencoderKLEncoder<GpuTensor>> | null = null;
  private readonly textEncoder: CLIPTextModel<GpuTensor>;
  private readonly textEncoder2: CLIPTextModel<GpuTensor> | null;
  private readonly unetModel: UNet2DConditionModel<GpuTensor>;
  private readonly vae: LoadedVae | null;
  private readonly taesd: AutoencoderTinyDecoder<GpuTensor> | null;
  /** The LoRAs requests have used, uploaded once, attached per job. */
  readonly #loras: LoraLibrary<GpuTensor>;
  #loraNames: Readonly<Record<string, string>> = {};
  /** The text encoder's rows for the textual-inversion tokens of `PipelineLoadOptions.embeddings`; null without. */
  #addedTokens: AddedTokenEmbeddings<GpuTensor> | null = null;
  /** SDXL: `text_encoder_2`'s rows for the same tokens; null without embeddings or a second encoder. */
  #addedTokens2: AddedTokenEmbeddings<GpuTensor> | null = null;

  private constructor(
    private readonly repo: DiffusersRepo,
    /** Where the VAE slot's weights come from instead of `repo`'s `vae/`, if anywhere. */
    private readonly vaeOverride: VaeOverride | null,
    /** How the weights are stored: `dtype`, and `quantize` for the ones the policy selects. */
    private readonly storage: WeightOptions & { dtype: TensorDType },
    private readonly ops: GpuOps,
    private readonly text: TextSide,
    private readonly configs: PipelineConfigs,
    models: PipelineModels,
    private readonly schedulerConfig: JsonObject,
    private readonly fit: DeviceFitCheck,
    readonly defaults: ModelDefaults,
    /** How the text encoder and UNet store activations (see `PipelineLoadOptions.activations`). */
    readonly activations: 'f32' | 'f16',
  ) {
    this.textEncoder = models.textEncoder;
    this.textEncoder2 = models.textEncoder2;
    this.unetModel = models.unet;
    this.vae = models.vae;
    this.taesd = models.taesd;
    const targets = { unet: this.unetModel.loraTargets, text_encoder: this.textEncoder.loraTargets, text_encoder_2: this.textEncoder2?.loraTargets ?? null };
    this.#loras = new LoraLibrary(ops, targets, storage.dtype, { unetLayersPerBlock: this.unetModel.config.layersPerBlock });
  }

  private get unetConfig(): UNetConfig {
    return this.configs.unet;
  }

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
    const unetJson = await repo.readConfig('unet');
    const unetConfig = COMPONENTS.unet.parseConfig(unetJson, `${source.id}/unet/config.json`);
    const { text, tokens: embeddingTokens, tokens2: embeddingTokens2 } = await readTextualInversions(await readTextSide(repo, source, unetConfig, signal), options.embeddings ?? [], signal);
    const clipJson = text.first.json;
    const clip2Json = text.second?.json ?? null;
    const override = options.vae ? await VaeOverride.read(options.vae, { variant: options.variant ?? null, unet: unetConfig, model: source.id, signal }) : null;
    // An override replaces the model's vae/ whole, config included: a repo with a broken vae/ still loads.
    const vaeJson = override ? override.json : repo.hasComponent('vae') ? await repo.readConfig('vae') : null;
    const vaeComponent = override ? override.component : vaeJson && parseVaeComponent(vaeJson, `${source.id}/vae/config.json`);
    const taesdSource = options.taesd ?? null;
    const taesdJson = taesdSource && parseLenientJson(await taesdSource.readText('config.json'), `${taesdSource.id}/config.json`);
    const taesdConfig = taesdSource && COMPONENTS.taesd_decoder.parseConfig(taesdJson, `${taesdSource.id}/config.json`);
    if (taesdConfig && taesdConfig.latentChannels !== unetConfig.outChannels) {
      const expected = `${unetConfig.outChannels}, the latent channels of ${source.id}'s UNet (unet/config.json out_channels), which TAESD decodes`;
      throw new ModelConfigError(`${taesdSource!.id}/config.json`, 'latent_channels', taesdConfig.latentChannels, expected);
    }
    const own = readPrequantizedConfigs({ text_encoder: clipJson, text_encoder_2: clip2Json, unet: unetJson, vae: override ? null : vaeJson }, source.id);
    const prequantized = override?.prequantized ? { ...own, vae: override.prequantized } : own;
    // Its weights are what they are: quantized where its configs say, the rest f16 as in its files (README, "Quantized models").
    const dtype: TensorDType = isPrequantized(prequantized) ? 'f16' : options.dtype;
    const quantize = isPrequantized(prequantized) ? null : (options.quantize ?? null);
    const configs: PipelineConfigs = { textEncoder: text.first.config, textEncoder2: text.second?.config ?? null, unet: unetConfig, vae: vaeComponent, taesd: taesdConfig, prequantized };
    const vaeScale = vaeComponent ? vaeScaleFactor(vaeComponent) : 1;
    const fit = new DeviceFitCheck(
      { unet: unetJson, textEncoder: clipJson, ...(clip2Json ? { textEncoder2: clip2Json } : {}), source: source.id, ...(vaeJson ? { vae: vaeJson } : {}), ...(taesdJson ? { taesd: taesdJson } : {}) },
      runtime.capabilities,
      dtype,
      vaeScale,
      quantize,
      prequantizedPolicies(prequantized),
      options.activations ?? 'f32',
    );
    fit.checkModel();
    if (options.onWeightFiles) {
      const components = ['text_encoder', ...(clip2Json ? ['text_encoder_2'] : []), 'unet', ...(vaeComponent && !override ? ['vae'] : [])];
      const side = [...(override ? [override.weightFiles] : []), ...(taesdSource ? [{ source: taesdSource, candidates: [TAESD_WEIGHTS], prefix: TAESD_PROGRESS_PREFIX }] : [])];
      options.onWeightFiles(await resolveWeightFiles(repo, components, signal, side));
    }
    const onUpload = options.onUpload;
    const uploadTotal = onUpload ? fit.weightBytes() : 0;
    const stream: StreamOptions = { dtype, quantize, signal, onProgress: options.onProgress, onUpload: onUpload && ((bytes) => onUpload(bytes, uploadTotal)) };
    const storage = { dtype, quantize };
    const models = await buildPipelineModels(ops, configs, storage, async (checkpoint, skip) => {
      if (checkpoint === 'vae' && override) return override.stream(ops, { ...stream, prequantized: prequantized.vae ?? null }, skip);
      if (checkpoint !== 'taesd') return streamComponent(repo, checkpoint, ops, { ...stream, prequantized: prequantized[checkpoint] ?? null }, skip);
      // Progress names TAESD's file under `taesd/`, beside the model's own.
      const taesdStream = withProgressPrefix(stream, TAESD_PROGRESS_PREFIX);
      return streamCheckpoint(ops, await taesdSource!.fetchFile(TAESD_WEIGHTS, fetchOptionsOf(taesdStream)), `${taesdSource!.id}/${TAESD_WEIGHTS}`, taesdStream, skip);
    });
    try {
      const schedulerConfig = await repo.readConfig('scheduler');
      const defaults = pipelineDefaults(repo.modelIndex.raw, unetConfig, schedulerConfig, vaeScale, source.id);
      const pipeline = new StableDiffusionPipeline(repo, override, storage, ops, text, configs, models, schedulerConfig, fit, defaults, options.activations ?? 'f32');
      pipeline.#loraNames = options.loraNames ?? {};
      if (embeddingTokens) pipeline.#addedTokens = AddedTokenEmbeddings.upload(ops, embeddingTokens.firstId, embeddingTokens.vectors, embeddingTokens.hiddenSize);
      if (embeddingTokens2) pipeline.#addedTokens2 = AddedTokenEmbeddings.upload(ops, embeddingTokens2.firstId, embeddingTokens2.vectors, embeddingTokens2.hiddenSize);
      return pipeline;
    } catch (err) {
      releasePipelineModels(models);
      throw err;
    }
  }

  /**
   * The kernel specialisations `jobs` dispatch, found by a dry run: this pipeline rebuilt on a
   * plan-mode runtime with the device's capabilities and generated weights (the same model code,
   * no GPU work, no device memory), running each job. The engine host precompiles them during a
   * load, its `compile` phase, so the first request at the model's default size compiles nothing.
   * A job this device cannot run (`DeviceLimitError`) adds what it dispatched before it failed.
   */
  async kernelsFor(jobs: readonly TextToImageJob[]): Promise<KernelSet> {
    const kernels = new KernelSet();
    const caps = this.ops.runtime.capabilities;
    const ops = new GpuOps(GpuRuntime.plan({ shaderF16: caps.shaderF16, subgroups: caps.subgroups, limits: caps.limits, kernels }));
    const models = await buildPipelineModels(ops, this.configs, this.storage, async (checkpoint) => new SyntheticStateDict(`${this.repo.source.id}/${checkpoint} (generated weights)`));
    const twin = new StableDiffusionPipeline(this.repo, this.vaeOverride, this.storage, ops, this.text, this.configs, models, this.schedulerConfig, this.fit, this.defaults, this.activations);
    try {
      for (const job of jobs) {
        await twin.generate(job).catch((err: unknown) => {
          if (!(err instanceof DeviceLimitError)) throw err;
        });
      }
    } finally {
      twin.release();
    }
    return kernels;
  }

  /**
   * The VAE encoder, streamed from the VAE checkpoint (the override's, if any; its `encoder.*` and
   * `quant_conv.*` keys only) on first use; a failed or aborted load is retried by the next request.
   */
  #imageEncoder(vae: LoadedVae, signal: AbortSignal | undefined): Promise<AutoencoderKLEncoder<GpuTensor>> {
    const config = vae.encoderConfig;
    // Not a user's error: `generate` refuses img2img on an AutoencoderTiny VAE before any work
    // (`RequestValidationError` naming `image`), so only a broken caller inside the pipeline gets here.
    if (!config) return Promise.reject(new RangeError(`#imageEncoder called without an AutoencoderKL encoder: ${TINY_VAE_IMG2IMG}.`));
    if (!this.#encoder) {
      const ops = this.ops;
      const options = { ...this.storage, prequantized: this.configs.prequantized?.vae ?? null, ...(signal ? { signal } : {}) };
      // Loaded inside a request's unit of work, kept after it: not the request's to give back if it fails.
      this.#encoder = ops.runtime
        .keep(() =>
          (this.vaeOverride
            ? this.vaeOverride.stream(ops, options, COMPONENTS.vae_encoder.unusedKey)
            : streamComponent(this.repo, 'vae', ops, options, COMPONENTS.vae_encoder.unusedKey)
          ).then((dict) => {
            try {
              return COMPONENTS.vae_encoder.load(ops, config, dict, this.storage);
            } finally {
              dict.releaseUntaken();
            }
          }),
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
      sdxl: this.text.second !== null,
      // lpw_stable_diffusion's reading is for one text encoder; SDXL's two are not done yet.
      a1111Prompts: true,
      lora: true,
      loraNames: this.#loraNames,
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
    checkCapabilities({ image: job.init?.image, decoder: job.decoder, promptSyntax: job.promptSyntax }, this.capabilities);
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
    const unetForward = (sample: GpuTensor, t: number, c: UNetConditioning<GpuTensor>): GpuTensor => {
      const B = sample.shape[0]!;
      const added = c.textEmbeds && c.timeIds ? { textEmbeds: c.textEmbeds, timeIds: c.timeIds } : undefined;
      if (!condEmbedding) return this.unetModel.forward(sample, Array<number>(B).fill(t), c.encoderHiddenStates, undefined, added);
      const rows = new Float32Array(B * condEmbedding.length);
      for (let b = 0; b < B; b++) rows.set(condEmbedding, b * condEmbedding.length);
      const cond = ops.upload(rows, [B, condEmbedding.length]);
      try {
        return this.unetModel.forward(sample, Array<number>(B).fill(t), c.encoderHiddenStates, cond, added);
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
      // The scheduler works on f32 latents: an f16 UNet output is widened once, at the end.
      unet: (sample, t, c) => asF32(rt, rt.withActivations(this.activations, () => unetForward(sample, t, c))),
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
      concatBatch: (a, b) => concatBatch(ops, a, b),
    };
    const second = this.text.second;
    const encodePrompt = convertingPrompts(
      gpuPromptEncoder(ops, this.activations, {
        tokenizer: this.text.first.tokenizer,
        textEncoder: this.textEncoder,
        addedTokens: this.#addedTokens,
        second: second && this.textEncoder2
          ? { tokenizer: second.tokenizer, textEncoder: this.textEncoder2, addedTokens: this.#addedTokens2, forceZerosForEmptyPrompt: this.text.forceZerosForEmptyPrompt }
          : null,
      }),
      this.text.first.tokenizer,
      second?.tokenizer,
    );
    // LoRAs are read and matched before any GPU work; they run beside the base weights for this
    // job only. A failure anywhere in the job leaves the runtime clean for the next one (see GpuRuntime.work).
    const detach = await this.#loras.attach(job.loras ?? []);
    try {
      return await rt.work(() => runTextToImage(components, encodePrompt, scheduler, loopJob, hooks));
    } finally {
      detach();
    }
  }

  /**
   * Submits the recorded step and resolves when the GPU has finished the step before it (no
   * readback): one step stays in flight while the caller records the next.
   */
  async stepDone(): Promise<void> {
    await this.ops.runtime.syncPrevious();
  }

  /**
   * A preview of the first image of `latents`: TAESD's image where one is loaded, else a linear
   * map of SD's or SDXL's latents (see `previewImage`).
   */
  preview(latents: GpuTensor): Promise<DiffusionImage> {
    return previewImage(this.ops, latents, { taesd: this.taesd, activations: this.activations, map: this.text.second ? SDXL_LATENT_RGB : SD_LATENT_RGB });
  }

  /** Frees every weight; the VAE encoder's when its load settles, should it still be loading. */
  release(): void {
    this.#encoder?.then(
      (encoder) => encoder.release(),
      () => undefined,
    );
    this.#encoder = null;
    this.#loras.release();
    this.#addedTokens?.release();
    this.#addedTokens = null;
    this.#addedTokens2?.release();
    this.#addedTokens2 = null;
    releasePipelineModels({ textEncoder: this.textEncoder, textEncoder2: this.textEncoder2, unet: this.unetModel, vae: this.vae, taesd: this.taesd });
  }
}
