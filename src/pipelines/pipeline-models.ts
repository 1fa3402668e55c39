import type { StateDict } from '../io/state-dict.js';
import { DeviceStateDict } from '../models/device-state-dict.js';
import type { CLIPTextModel } from '../models/clip/clip-text-model.js';
import type { CLIPTextConfig } from '../models/clip/config.js';
import { COMPONENTS, loadVaeDecoder, vaeLatentScaling, vaeScaleFactor, type VaeComponent } from '../models/registry.js';
import type { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import type { AutoencoderTinyConfig } from '../models/taesd/config.js';
import type { UNetConfig } from '../models/unet/config.js';
import type { UNet2DConditionModel } from '../models/unet/unet-2d-condition.js';
import type { AutoencoderKLDecoder } from '../models/vae/autoencoder-kl-decoder.js';
import type { AutoencoderKLConfig } from '../models/vae/config.js';
import { maxBindingBytes } from '../plan/binding-limit.js';
import type { WeightOptions } from '../models/weights.js';
import { componentPolicy } from '../quant/checkpoint-policies.js';
import { prequantizedPolicies, type PrequantizedConfigs } from './prequantized.js';
import type { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../webgpu/tensor.js';

/** The parsed configs of a model's components: what a load and its dry run both build from. */
export interface PipelineConfigs {
  readonly textEncoder: CLIPTextConfig;
  /** SDXL's `text_encoder_2` (a `CLIPTextModelWithProjection`); null for one text encoder. */
  readonly textEncoder2: CLIPTextConfig | null;
  readonly unet: UNetConfig;
  /** The `vae/` slot; null for a pixel-space model. */
  readonly vae: VaeComponent | null;
  /** A TAESD model loaded beside it, for `decoder: 'taesd'`. */
  readonly taesd: AutoencoderTinyConfig | null;
  /** The components whose `config.json` has a `quantization_config` (a pre-quantized repo): stored as it says. */
  readonly prequantized?: PrequantizedConfigs;
}

/** The model's VAE slot: an `AutoencoderKL`, or an `AutoencoderTiny` as diffusers also accepts there. */
export interface LoadedVae {
  readonly model: AutoencoderKLDecoder<GpuTensor> | AutoencoderTinyDecoder<GpuTensor>;
  /** How latents map into the decoder (see `vaeLatentScaling`). */
  readonly config: { scalingFactor: number; shiftFactor: number; forceUpcast: boolean };
  /** The `AutoencoderKL` config its img2img encoder is built from; null for an `AutoencoderTiny`, whose encoder is not run. */
  readonly encoderConfig: AutoencoderKLConfig | null;
  readonly scale: number;
}

/** The resident models of a pipeline. */
export interface PipelineModels {
  readonly textEncoder: CLIPTextModel<GpuTensor>;
  readonly textEncoder2: CLIPTextModel<GpuTensor> | null;
  readonly unet: UNet2DConditionModel<GpuTensor>;
  readonly vae: LoadedVae | null;
  readonly taesd: AutoencoderTinyDecoder<GpuTensor> | null;
}

/** A checkpoint a pipeline reads: the `vae` one feeds the VAE decoder here, the encoder on an img2img request. */
export type PipelineCheckpoint = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae' | 'taesd';

/**
 * Where the weights come from: a model's streamed checkpoints, or generated ones (a dry run).
 * `skip` names the keys the model never uses, so they need not be read.
 */
export type WeightProvider = (checkpoint: PipelineCheckpoint, skip: ((key: string) => boolean) | null) => Promise<StateDict>;

/**
 * Builds a pipeline's models in load order (text encoders, UNet, VAE decoder, TAESD) from
 * `weights`, stored as `storage` says (a checkpoint streamed to the device is stored as it streams), each checkpoint opened only when the one before it is built, so that one
 * component's weights are in flight at a time. On a failure the models built so far are freed.
 */
export async function buildPipelineModels(ops: GpuOps, configs: PipelineConfigs, storage: WeightOptions, weights: WeightProvider): Promise<PipelineModels> {
  const built: Array<{ release(): void }> = [];
  const take = async <M extends { release(): void }>(checkpoint: PipelineCheckpoint, skip: ((key: string) => boolean) | null, load: (dict: StateDict) => M): Promise<M> => {
    const dict = await weights(checkpoint, skip);
    try {
      const model = load(dict);
      built.push(model);
      return model;
    } finally {
      releaseUntaken(dict);
    }
  };
  // A pre-quantized component's weights are quantized as its config says, whatever `storage.quantize`
  // (which a dry run's generated weights follow; streamed ones are stored as they stream).
  const policies = prequantizedPolicies(configs.prequantized);
  const optionsOf = (checkpoint: PipelineCheckpoint): WeightOptions => ({ ...storage, quantize: componentPolicy(checkpoint, storage.quantize ?? null, policies) });
  try {
    const textEncoder = await take('text_encoder', COMPONENTS.text_encoder.unusedKey, (d) => COMPONENTS.text_encoder.load(ops, configs.textEncoder, d, optionsOf('text_encoder')));
    const second = configs.textEncoder2;
    const textEncoder2 = second ? await take('text_encoder_2', COMPONENTS.text_encoder.unusedKey, (d) => COMPONENTS.text_encoder.load(ops, second, d, optionsOf('text_encoder_2'))) : null;
    // The UNet splits its feed-forward to fit the device's bindings, as the fit check's plan did.
    const unetOptions = { ...optionsOf('unet'), maxBindingBytes: maxBindingBytes(ops.runtime.limits) };
    const unet = await take('unet', COMPONENTS.unet.unusedKey, (d) => COMPONENTS.unet.load(ops, configs.unet, d, unetOptions));
    let vae: LoadedVae | null = null;
    const slot = configs.vae;
    if (slot) {
      const model = await take('vae', COMPONENTS[slot.kind].unusedKey, (d) => loadVaeDecoder(ops, slot, d, optionsOf('vae')));
      vae = { model, config: vaeLatentScaling(slot), encoderConfig: slot.kind === 'vae_decoder' ? slot.config : null, scale: vaeScaleFactor(slot) };
    }
    const tiny = configs.taesd;
    const taesd = tiny ? await take('taesd', COMPONENTS.taesd_decoder.unusedKey, (d) => COMPONENTS.taesd_decoder.load(ops, tiny, d, optionsOf('taesd'))) : null;
    return { textEncoder, textEncoder2, unet, vae, taesd };
  } catch (err) {
    for (const m of built) m.release();
    throw err;
  }
}

/** Frees every model. */
export function releasePipelineModels(models: PipelineModels): void {
  models.textEncoder.release();
  models.textEncoder2?.release();
  models.unet.release();
  models.vae?.model.release();
  models.taesd?.release();
}

/** A streamed checkpoint's device tensors no model took go back to the pool. */
function releaseUntaken(dict: StateDict): void {
  if (dict instanceof DeviceStateDict) dict.releaseUntaken();
}
