import type { DiffusionImage } from '../api/image.js';
import type { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import { asF32 } from '../webgpu/kernels/convert.js';
import type { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import { latentPreview, toRgbaImages, type LatentRgbMap } from './images.js';

/** How a pipeline previews its latents. */
export interface PreviewOptions {
  /** The TAESD decoder loaded beside the model (`taesd`), or null. */
  taesd: AutoencoderTinyDecoder<GpuTensor> | null;
  /** The activations TAESD runs with (the pipeline's). */
  activations: 'f32' | 'f16';
  /** The latent space's RGB map, for the preview without TAESD. */
  map: LatentRgbMap;
}

/**
 * A preview of the first image of `latents` [B, C, h, w]. With a TAESD (`madebyollin/taesd`, or
 * `madebyollin/taesdxl` for SDXL) it is that decoder's image at full size, one small decode per
 * step; otherwise `latentPreview`'s linear map at latent size. One readback either way.
 */
export async function previewImage(ops: GpuOps, latents: GpuTensor, o: PreviewOptions): Promise<DiffusionImage> {
  const [, c, h, w] = latents.shape as [number, number, number, number];
  const taesd = o.taesd;
  if (!taesd) return latentPreview(await ops.read(latents), c, h, w, o.map);
  const rt = ops.runtime;
  const first = ops.sliceBatch(latents, 0, 1);
  try {
    const image = asF32(
      rt,
      rt.withActivations(o.activations, () => {
        const out = taesd.decode(first);
        const scaled = ops.scale(out, 0.5, 0.5);
        ops.release(out);
        return scaled;
      }),
    );
    try {
      const [, , H, W] = image.shape as [number, number, number, number];
      return toRgbaImages(await ops.read(image), 1, [], H, W)[0]!;
    } finally {
      ops.release(image);
    }
  } finally {
    ops.release(first);
  }
}
