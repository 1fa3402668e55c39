import type { DiffusionImage } from '../api/image.js';
import type { RgbaImageBytes } from '../api/image-input.js';

/**
 * An RGBA8 image → [1, 3, H, W] floats in [-1, 1], as diffusers' `VaeImageProcessor.preprocess`
 * makes them (`x / 255`, then `2x − 1`, in float32); alpha is dropped like PIL's `convert("RGB")`.
 */
export function fromRgbaImage(image: RgbaImageBytes): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = 2 * Math.fround(image.data[p * 4 + c]! / 255) - 1;
  }
  return out;
}

/** [B, 3, H, W] floats in [0, 1] → RGBA8 images, rounded as diffusers' `numpy_to_pil` does. */
export function toRgbaImages(pixels: Float32Array, batch: number, seeds: readonly number[], height?: number, width?: number): DiffusionImage[] {
  const plane = pixels.length / (batch * 3);
  const h = height ?? Math.round(Math.sqrt(plane));
  const w = width ?? plane / h;
  if (h * w !== plane) throw new RangeError(`toRgbaImages: ${pixels.length} values are not ${batch} images of 3x${h}x${w}.`);
  const images: DiffusionImage[] = [];
  for (let b = 0; b < batch; b++) {
    const data = new Uint8ClampedArray(plane * 4);
    const base = b * 3 * plane;
    for (let p = 0; p < plane; p++) {
      data[p * 4] = Math.round(pixels[base + p]! * 255);
      data[p * 4 + 1] = Math.round(pixels[base + plane + p]! * 255);
      data[p * 4 + 2] = Math.round(pixels[base + 2 * plane + p]! * 255);
      data[p * 4 + 3] = 255;
    }
    images.push({ width: w, height: h, data, ...(seeds[b] !== undefined ? { seed: seeds[b] } : {}) });
  }
  return images;
}

/**
 * Approximate RGB of a VAE's latents: a fixed linear map per pixel (four weights per colour,
 * and a bias), giving values in [-1, 1]; the cheap preview UIs show while the loop runs (no
 * decoder call, one small readback). SD 1.x/2.x and SDXL latents live in different spaces.
 */
export interface LatentRgbMap {
  /** Row k: latent channel k's contribution to R, G and B. */
  readonly factors: readonly (readonly [number, number, number])[];
  readonly bias: readonly [number, number, number];
}

/** SD 1.x/2.x (`scaling_factor` 0.18215). */
export const SD_LATENT_RGB: LatentRgbMap = {
  factors: [
    [0.298, 0.207, 0.208],
    [0.187, 0.286, 0.173],
    [-0.158, 0.189, 0.264],
    [-0.184, -0.271, -0.473],
  ],
  bias: [0, 0, 0],
};

/** SDXL's VAE (`scaling_factor` 0.13025), as ComfyUI previews it. */
export const SDXL_LATENT_RGB: LatentRgbMap = {
  factors: [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
  ],
  bias: [0.1084, -0.0175, -0.0011],
};

/** A preview of the first image of latents [B, C, h, w]: 4-channel latents by `map`, 3-channel pixel latents as they are. */
export function latentPreview(latents: Float32Array, channels: number, h: number, w: number, map: LatentRgbMap = SD_LATENT_RGB): DiffusionImage {
  const plane = h * w;
  const data = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v: number;
      if (channels === 4) {
        v = map.bias[c]!;
        for (let k = 0; k < 4; k++) v += latents[k * plane + p]! * map.factors[k]![c]!;
        v = v / 2 + 0.5;
      } else {
        v = latents[Math.min(c, channels - 1) * plane + p]! / 2 + 0.5;
      }
      data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    data[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}
