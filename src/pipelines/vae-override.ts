import { readJsonObject, type JsonObject } from '../io/diffusers-repo.js';
import { DiffusersRepoError, ModelFileNotFoundError } from '../io/errors.js';
import { MAX_CONFIG_FILE_BYTES, type ModelSource } from '../io/sources/model-source.js';
import type { DeviceStateDict } from '../models/device-state-dict.js';
import { ModelConfigError } from '../models/errors.js';
import { parseVaeComponent, type VaeComponent } from '../models/registry.js';
import type { UNetConfig } from '../models/unet/config.js';
import { readQuantizationConfig, type ParsedQuantizationConfig } from '../quant/quantization-config.js';
import type { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import { fetchOptionsOf, streamCheckpoint, withProgressPrefix, type StreamOptions } from './stream-weights.js';
import type { SideCheckpoint } from './weight-files.js';

/** How load progress names the override's checkpoint: under `vae/`, where the model's own would be. */
export const VAE_OVERRIDE_PROGRESS_PREFIX = 'vae/';

/**
 * The weight files to try at a VAE repo's root, best first: with a `variant`, its file before
 * the plain one, as `DiffusersRepo.weightCandidates` orders a component's (diffusers saves an
 * `AutoencoderKL` as `diffusion_pytorch_model[.<variant>].safetensors`).
 */
export function vaeOverrideCandidates(variant: string | null): string[] {
  return [...(variant ? [`diffusion_pytorch_model.${variant}.safetensors`] : []), 'diffusion_pytorch_model.safetensors'];
}

/** What `VaeOverride.read` checks the override against. */
export interface VaeOverrideOptions {
  /** The engine's weights variant: its file is tried first. */
  variant: string | null;
  /** The model's UNet, whose `out_channels` the VAE's `latent_channels` must equal. */
  unet: UNetConfig;
  /** The model's source id, for errors. */
  model: string;
  signal?: AbortSignal | undefined;
}

/**
 * A VAE used instead of a model's own `vae/` (the engine config field `vae`, diffusers'
 * `vae=AutoencoderKL.from_pretrained(...)`): a diffusers `AutoencoderKL` repo, or an
 * `AutoencoderTiny` one as the VAE slot also takes, with `config.json` and its weights at the
 * root, e.g. `madebyollin/sdxl-vae-fp16-fix`. Its config decides everything the model's would:
 * the decoder, the img2img encoder, the scaling, the latent scale and `force_upcast`.
 */
export class VaeOverride {
  private constructor(
    readonly source: ModelSource,
    /** Its `config.json`, as the fit check plans it. */
    readonly json: JsonObject,
    readonly component: VaeComponent,
    /** Its `quantization_config`, when its weights are stored pre-quantized; null otherwise. */
    readonly prequantized: ParsedQuantizationConfig | null,
    readonly candidates: readonly string[],
  ) {}

  /**
   * Reads and checks the override's `config.json` (no weights): a missing or malformed file is
   * a `DiffusersRepoError` or `JsonParseError`, a bad field a `ModelConfigError`, naming
   * `<vae id>/config.json`; so is a `latent_channels` other than the UNet's `out_channels`.
   */
  static async read(source: ModelSource, options: VaeOverrideOptions): Promise<VaeOverride> {
    const file = `${source.id}/config.json`;
    const json = await readJsonObject(source, 'config.json', { maxBytes: MAX_CONFIG_FILE_BYTES, ...(options.signal ? { signal: options.signal } : {}) });
    const component = parseVaeComponent(json, file);
    const latentChannels = component.config.latentChannels;
    if (latentChannels !== options.unet.outChannels) {
      const expected = `${options.unet.outChannels}, the latent channels of ${options.model}'s UNet (unet/config.json out_channels), which the VAE (config field \`vae\`) decodes`;
      throw new ModelConfigError(file, 'latent_channels', latentChannels, expected);
    }
    return new VaeOverride(source, json, component, readQuantizationConfig(json, file), vaeOverrideCandidates(options.variant));
  }

  /** Its checkpoint, as `resolveWeightFiles` lists it: named under `vae/`. */
  get weightFiles(): SideCheckpoint {
    return { source: this.source, candidates: this.candidates, prefix: VAE_OVERRIDE_PROGRESS_PREFIX };
  }

  /**
   * Streams its checkpoint (the first candidate that exists) to the device, keeping the keys
   * `skip` does not name: the decoder's at load, the encoder's on the first img2img request.
   * Progress names the file under `vae/`.
   */
  async stream(ops: GpuOps, options: StreamOptions, skip: ((key: string) => boolean) | null): Promise<DeviceStateDict<GpuTensor>> {
    const named = withProgressPrefix(options, VAE_OVERRIDE_PROGRESS_PREFIX);
    for (const path of this.candidates) {
      const file = await this.source.fetchFile(path, fetchOptionsOf(named)).catch((err: unknown) => {
        if (err instanceof ModelFileNotFoundError) return null;
        throw err;
      });
      if (file) return streamCheckpoint(ops, file, `${this.source.id}/${path}`, named, skip);
    }
    throw new DiffusersRepoError(
      this.candidates.at(-1)!,
      `${this.source.id}: the VAE (config field \`vae\`) has no safetensors weights at its root (tried ${this.candidates.join(', ')}). ` +
        'Only .safetensors checkpoints are supported; convert .bin files with diffusers first.',
    );
  }
}
