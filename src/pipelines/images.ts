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
 * Approximate RGB of SD 1.x/2.x latents: a fixed linear map per pixel, the cheap preview that
 * UIs show while the loop runs (no decoder call, one small readback).
 */
const SD_LATENT_RGB = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
];

/** A preview of the first image of latents [B, C, h, w]: SD latents by projection, 3-channel pixel latents as they are. */
export function latentPreview(latents: Float32Array, channels: number, h: number, w: number): DiffusionImage {
  const plane = h * w;
  const data = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v: number;
      if (channels === 4) {
        v = 0;
        for (let k = 0; k < 4; k++) v += latents[k * plane + p]! * SD_LATENT_RGB[k]![c]!;
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
