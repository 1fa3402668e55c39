import type { DecoderKind } from '../api/request.js';
import type { DiagonalGaussian } from '../models/vae/diagonal-gaussian.js';
import type { LatentBackend } from '../schedulers/latents.js';
import type { UNetConditioning } from './conditioning.js';

/** An img2img init image as its VAE sees it: the latent posterior, and the map into UNet latents. */
export interface EncodedImage {
  /** `vae.encode(image).latent_dist`, on the host. */
  posterior: DiagonalGaussian;
  /** diffusers' `scaling_factor` and `shift_factor`: UNet latents = (z − shift) · scale. */
  scalingFactor: number;
  shiftFactor: number;
}

/**
 * What the text-to-image loop needs from a backend: the UNet and the decoders, and a place for
 * latents (the text encoders come as the loop's `PromptEncoder`). The WebGPU executor implements it with our kernels, the ONNX executor with
 * onnxruntime-web; the loop itself (`runTextToImage`) is shared, so both follow diffusers'
 * `StableDiffusionPipeline` the same way.
 */
export interface DiffusionComponents<T> {
  /** Where latents live, and the scheduler's linear-combination kernel. */
  readonly latents: LatentBackend<T>;
  /** Channels of the denoised space (4 for SD latents, 3 for a pixel-space model). */
  readonly latentChannels: number;
  /** Image pixels per latent pixel (8 for SD's VAE, 1 without a VAE). */
  readonly vaeScaleFactor: number;
  /** The UNet's native latent size (`sample_size`), giving the default image size. */
  readonly sampleSize: number;
  /** Decoders this model can use. */
  readonly decoders: readonly DecoderKind[];
  /** One UNet call on the job's conditioning (see `PromptEncoder`); the timestep is broadcast over the batch. */
  unet(sample: T, timestep: number, conditioning: UNetConditioning<T>): Promise<T> | T;
  /**
   * Latents → image [B, 3, H, W] in [0, 1], unclamped: the decoder divides by its
   * `scaling_factor` and maps its output range itself.
   */
  decode(latents: T, decoder: DecoderKind): Promise<T> | T;
  /**
   * img2img: `image` [1, 3, H, W] in [-1, 1] (not released) → its latent posterior, or null for a
   * pixel-space model, which denoises the image itself. Absent where the backend cannot encode.
   */
  encodeImage?(image: T): Promise<EncodedImage | null>;
  /** Rows [start, end) of dim 0. */
  sliceBatch(x: T, start: number, end: number): T;
  /** [a; b] along dim 0. */
  concatBatch(a: T, b: T): T;
}
