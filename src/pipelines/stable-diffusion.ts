import type { DiffusionImage } from '../engine/image.js';
import type { DecoderKind } from '../engine/request.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { DiffusersRepo, type JsonObject } from '../io/diffusers-repo.js';
import { readSafetensors } from '../io/safetensors.js';
import type { ModelSource } from '../io/sources/model-source.js';
import { StateDict } from '../io/state-dict.js';
import { GpuOps } from '../kernels/gpu-ops.js';
import type { TensorDType } from '../kernels/ops.js';
import { gpuLatentBackend } from '../kernels/scheduler-step.js';
import { CLIPTextModel } from '../models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../models/clip/config.js';
import { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import { parseAutoencoderTinyConfig } from '../models/taesd/config.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../models/tokenizer/load.js';
import { parseUNetConfig, type UNetConfig } from '../models/unet/config.js';
import { UNet2DConditionModel } from '../models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../models/vae/config.js';
import { guidanceScaleEmbedding } from '../schedulers/guidance-embedding.js';
import { createScheduler } from '../schedulers/registry.js';
import type { DiffusionComponents } from './components.js';
import { latentPreview } from './images.js';
import { runTextToImage, type TextToImageHooks, type TextToImageJob, type TextToImageResult } from './text-to-image.js';

/** Defaults a request falls back to, from the model's configs. */
export interface PipelineDefaults {
  steps: number;
  guidanceScale: number;
  height: number;
  width: number;
  /** The scheduler class of `scheduler/scheduler_config.json`. */
  scheduler: string;
}

export interface PipelineLoadOptions {
  dtype: TensorDType;
  /** A TAESD repo (diffusers `AutoencoderTiny`), for `decoder: 'taesd'`. */
  taesd?: ModelSource | null;
  variant?: string | null;
  signal?: AbortSignal;
}

async function loadDict(repo: DiffusersRepo, name: string, signal: AbortSignal | undefined): Promise<StateDict> {
  const { path, tensors } = await repo.loadWeights(name, signal ? { signal } : {});
  return new StateDict(tensors, `${repo.source.id}/${path}`);
}

/**
 * Stable Diffusion text-to-image (SD 1.x, 2.x, SD-Turbo, LCM, and pixel-space models without a
 * VAE) on our WebGPU kernels: the components of a diffusers repo loaded once, then any number
 * of `generate` calls, each with its own scheduler instance.
 */
export class StableDiffusionPipeline {
  private constructor(
    private readonly ops: GpuOps,
    private readonly tokenizer: CLIPTokenizer,
    private readonly textEncoder: CLIPTextModel<GpuTensor>,
    private readonly unetModel: UNet2DConditionModel<GpuTensor>,
    private readonly unetConfig: UNetConfig,
    private readonly vae: { model: AutoencoderKLDecoder<GpuTensor>; scalingFactor: number; scale: number } | null,
    private readonly taesd: AutoencoderTinyDecoder<GpuTensor> | null,
    private readonly schedulerConfig: JsonObject,
    readonly defaults: PipelineDefaults,
  ) {}

  /** Loads every component of the repo at `source` onto `runtime`. */
  static async load(source: ModelSource, runtime: GpuRuntime, options: PipelineLoadOptions): Promise<StableDiffusionPipeline> {
    const repo = await DiffusersRepo.open(source, { variant: options.variant ?? null });
    const ops = new GpuOps(runtime);
    const signal = options.signal;
    const uploaded: Array<{ release(): void }> = [];
    try {
      const tokenizer = await loadCLIPTokenizer(source, 'tokenizer', signal ? { signal } : {});
      const textEncoder = CLIPTextModel.load(ops, parseCLIPTextConfig(await repo.readConfig('text_encoder'), `${source.id}/text_encoder/config.json`), await loadDict(repo, 'text_encoder', signal), { dtype: options.dtype });
      uploaded.push(textEncoder);
      const unetConfig = parseUNetConfig(await repo.readConfig('unet'), `${source.id}/unet/config.json`);
      const unetModel = UNet2DConditionModel.load(ops, unetConfig, await loadDict(repo, 'unet', signal), { dtype: options.dtype });
      uploaded.push(unetModel);
      let vae: StableDiffusionPipeline['vae'] = null;
      if (repo.hasComponent('vae')) {
        const cfg = parseAutoencoderKLConfig(await repo.readConfig('vae'), `${source.id}/vae/config.json`);
        const model = AutoencoderKLDecoder.load(ops, cfg, await loadDict(repo, 'vae', signal), { dtype: options.dtype });
        uploaded.push(model);
        vae = { model, scalingFactor: cfg.scalingFactor, scale: 2 ** (cfg.blockOutChannels.length - 1) };
      }
      let taesd: AutoencoderTinyDecoder<GpuTensor> | null = null;
      if (options.taesd) {
        const taesdRepo = await DiffusersRepo.open(options.taesd).catch(() => null);
        const configText = await options.taesd.readText('config.json');
        const cfg = parseAutoencoderTinyConfig(JSON.parse(configText), `${options.taesd.id}/config.json`);
        const file = 'diffusion_pytorch_model.safetensors';
        const dict = taesdRepo
          ? await loadDict(taesdRepo, 'vae', signal)
          : new StateDict(await readSafetensors(await options.taesd.fetchFile(file), { file: `${options.taesd.id}/${file}` }), `${options.taesd.id}/${file}`);
        taesd = AutoencoderTinyDecoder.load(ops, cfg, dict, { dtype: options.dtype });
        uploaded.push(taesd);
      }
      const schedulerConfig = await repo.readConfig('scheduler');
      const turbo = typeof schedulerConfig.timestep_spacing === 'string' && schedulerConfig.timestep_spacing === 'trailing';
      const lcm = unetConfig.timeCondProjDim !== null || schedulerConfig._class_name === 'LCMScheduler';
      const sample = unetConfig.sampleSize * (vae?.scale ?? 1);
      const defaults: PipelineDefaults = {
        steps: turbo ? 1 : lcm ? 4 : 25,
        guidanceScale: turbo ? 0 : lcm ? 8 : 7.5,
        height: sample,
        width: sample,
        scheduler: String(schedulerConfig._class_name ?? 'PNDMScheduler'),
      };
      return new StableDiffusionPipeline(ops, tokenizer, textEncoder, unetModel, unetConfig, vae, taesd, schedulerConfig, defaults);
    } catch (err) {
      for (const m of uploaded) m.release();
      throw err;
    }
  }

  /** Runs one text-to-image job with the model's scheduler, or `schedulerName` (`euler`, `DDIMScheduler`, ...). */
  async generate(job: TextToImageJob, schedulerName: string | undefined, hooks: TextToImageHooks<GpuTensor> = {}): Promise<TextToImageResult> {
    const latents = gpuLatentBackend(this.ops.runtime);
    const scheduler = createScheduler<GpuTensor>(schedulerName ?? this.defaults.scheduler, this.schedulerConfig, { backend: latents });
    const ops = this.ops;
    const vae = this.vae;
    const taesd = this.taesd;
    const timeCond = this.unetConfig.timeCondProjDim;
    // LCM distils guidance into the UNet: the scale goes in as an embedding, and the loop runs
    // without an unconditional pass, as diffusers' LatentConsistencyModelPipeline does.
    const condEmbedding = timeCond !== null ? guidanceScaleEmbedding(job.guidanceScale - 1, timeCond) : null;
    const loopJob = condEmbedding ? { ...job, guidanceScale: 1 } : job;
    const components: DiffusionComponents<GpuTensor> = {
      latents,
      latentChannels: this.unetConfig.inChannels,
      vaeScaleFactor: vae?.scale ?? 1,
      sampleSize: this.unetConfig.sampleSize,
      decoders: taesd ? ['vae', 'taesd'] : ['vae'],
      encodeText: (ids, batch) => {
        const out = this.textEncoder.forward(ids, [batch, ids.length / batch]);
        ops.release(out.poolerOutput);
        return out.lastHiddenState;
      },
      unet: (sample, t, ehs) => {
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
      },
      decode: (x, decoder: DecoderKind) => {
        if (decoder === 'taesd') {
          if (!taesd) throw new RangeError('decoder "taesd" needs a TAESD model: set the config field `taesd` to its repo.');
          const out = taesd.decode(x);
          const img = ops.scale(out, 0.5, 0.5);
          ops.release(out);
          return img;
        }
        if (!vae) return ops.scale(x, 0.5, 0.5);
        const scaled = ops.scale(x, 1 / vae.scalingFactor);
        const out = vae.model.decode(scaled);
        ops.release(scaled);
        const img = ops.scale(out, 0.5, 0.5);
        ops.release(out);
        return img;
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
    return runTextToImage(components, (prompts) => this.tokenizer.call(prompts), scheduler, loopJob, hooks);
  }

  /** Submits the recorded work and resolves when the GPU has finished it (no readback). */
  async stepDone(): Promise<void> {
    await this.ops.runtime.sync();
  }

  /** A cheap preview of the first image of `latents`: one small readback, no decoder. */
  async preview(latents: GpuTensor): Promise<DiffusionImage> {
    const [, c, h, w] = latents.shape as [number, number, number, number];
    const data = await this.ops.read(latents);
    return latentPreview(data, c, h, w);
  }

  /** Frees every weight. */
  release(): void {
    this.textEncoder.release();
    this.unetModel.release();
    this.vae?.model.release();
    this.taesd?.release();
  }
}
