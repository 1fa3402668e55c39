import { RequestValidationError } from '../api/errors.js';
import { ModelConfigError } from '../models/errors.js';
import type { Rng } from '../schedulers/rng.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { DiffusionComponents, EncodedImage } from './components.js';

/** img2img's part of a job (diffusers' `StableDiffusionImg2ImgPipeline`). */
export interface Img2ImgInit {
  /** The init image [1, 3, height, width] in [-1, 1] (see `fromRgbaImage`). */
  image: Float32Array;
  /** In (0, 1]: how far the image is noised, hence which part of the schedule runs. */
  strength: number;
}

/**
 * The starting latents of img2img, diffusers' `prepare_latents` with one generator per image:
 *
 * 1. The init image is encoded once (every image of the request shares it), its tensors freed
 *    as soon as the posterior's moments are read back (a few KB, once per request).
 * 2. Image i draws from its own generator, in diffusers' order: first the posterior sample
 *    (`retrieve_latents(..., sample_mode="sample")`: mean + std · ε, then `(z − shift) · scale`),
 *    then the noise of `add_noise`. So `numOutputsPerPrompt` replicates the init latents with
 *    each image's own noise, and image i is reproducible from seed + i alone.
 * 3. `scheduler.addNoise(x0, noise, t)` at the first timestep `t` that will run, on the latent
 *    backend (the GPU's scheduler-step kernel).
 *
 * A pixel-space model (no VAE) starts from the image itself, with no posterior draw.
 *
 * An init image that is not of the job's size, or that these components cannot start from (no
 * encoder, a pixel-space UNet that does not denoise RGB), fails with `RequestValidationError`
 * naming `image`; a VAE whose latents are not the UNet's, with `ModelConfigError`.
 */
export async function img2imgLatents<T>(
  components: DiffusionComponents<T>,
  scheduler: Scheduler<T>,
  init: Img2ImgInit,
  rngs: readonly Rng[],
  shape: readonly [number, number, number, number],
  firstTimestep: number,
): Promise<T> {
  const lat = components.latents;
  const [B, C, h, w] = shape;
  const perImage = C * h * w;
  const [H, W] = [h * components.vaeScaleFactor, w * components.vaeScaleFactor];
  // The request's checks size the job by its image; a job built without them may still disagree.
  if (init.image.length !== 3 * H * W) {
    throw new RequestValidationError('image', init.image, `an image of the job's size ${W}x${H} ([1, 3, ${H}, ${W}], ${3 * H * W} values; it holds ${init.image.length})`);
  }
  if (!components.encodeImage) {
    throw new RequestValidationError('image', init.image, 'absent: these components cannot encode an init image, so they run text-to-image only (img2img runs on the webgpu, multiproc and external executors)');
  }
  const image = lat.fromArray(init.image, [1, 3, H, W]);
  let encoded: EncodedImage | null;
  try {
    encoded = await components.encodeImage(image);
  } finally {
    lat.release(image);
  }
  const x0 = new Float32Array(B * perImage);
  if (encoded === null) {
    if (init.image.length !== perImage) {
      throw new RequestValidationError('image', init.image, `absent: this model has no VAE and its UNet denoises [${C}, ${h}, ${w}], not an RGB image [3, ${H}, ${W}], so it cannot start from one`);
    }
    for (let b = 0; b < B; b++) x0.set(init.image, b * perImage);
  } else {
    const { posterior, scalingFactor, shiftFactor } = encoded;
    if (posterior.mean.length !== perImage) {
      // The model's two configs disagree: vae/config.json's latent_channels is not the UNet's in_channels.
      throw new ModelConfigError('vae/config.json', 'latent_channels', posterior.shape[1], `${C}, the in_channels of unet/config.json: the VAE encodes the image to [${posterior.shape.join(', ')}], the UNet denoises [1, ${C}, ${h}, ${w}]`);
    }
    rngs.forEach((rng, b) => {
      const z = posterior.sample(rng.randn(perImage));
      x0.set(
        z.map((v) => (v - shiftFactor) * scalingFactor),
        b * perImage,
      );
    });
  }
  const noise = new Float32Array(B * perImage);
  rngs.forEach((rng, b) => noise.set(rng.randn(perImage), b * perImage));
  const original = lat.fromArray(x0, shape);
  const noiseTensor = lat.fromArray(noise, shape);
  try {
    return scheduler.addNoise(original, noiseTensor, firstTimestep);
  } finally {
    lat.release(original);
    lat.release(noiseTensor);
  }
}
