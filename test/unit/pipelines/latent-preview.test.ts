import { describe, expect, it } from 'vitest';
import { latentPreview, SD_LATENT_RGB, SDXL_LATENT_RGB } from '../../../src/pipelines/images.js';

/** One latent pixel [4, 1, 1] → its RGB bytes. */
const rgb = (latent: number[], map = SD_LATENT_RGB) => Array.from(latentPreview(Float32Array.from(latent), 4, 1, 1, map).data.slice(0, 3));

describe('latentPreview', () => {
  it("maps each latent channel by its row of the map, adds the bias, and takes [-1, 1] to bytes", () => {
    expect(rgb([0, 0, 0, 0])).toEqual([128, 128, 128]);
    // SDXL's bias alone: (0.1084 / 2 + 0.5) · 255 = 141.3, (−0.0175 / 2 + 0.5) · 255 = 125.3, (−0.0011 / 2 + 0.5) · 255 = 127.4.
    expect(rgb([0, 0, 0, 0], SDXL_LATENT_RGB)).toEqual([141, 125, 127]);
    // Channel 0 at 1: SDXL's first row plus the bias.
    expect(rgb([1, 0, 0, 0], SDXL_LATENT_RGB)).toEqual([Math.round(((0.3651 + 0.1084) / 2 + 0.5) * 255), Math.round(((0.4232 - 0.0175) / 2 + 0.5) * 255), Math.round(((0.4341 - 0.0011) / 2 + 0.5) * 255)]);
    // Channel 3 at -3 under SD's map: blue passes 1 (1.419) and is clamped to 255.
    expect(rgb([0, 0, 0, -3])).toEqual([Math.round((0.552 / 2 + 0.5) * 255), Math.round((0.813 / 2 + 0.5) * 255), 255]);
  });

  it('shows pixel-space latents (3 channels) as they are', () => {
    const px = latentPreview(Float32Array.from([1, -1, 0]), 3, 1, 1);
    expect(Array.from(px.data)).toEqual([255, 0, 128, 255]);
  });
});
