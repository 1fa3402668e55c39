import type { DiffusionImage } from '../api/image.js';
import { OmniDiffusionError } from '../api/errors.js';

/** Draws an RGBA image onto a canvas, resizing the canvas to it. */
export function drawImage(canvas: HTMLCanvasElement, image: DiffusionImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new OmniDiffusionError('drawImage: the canvas has no 2D context.');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
}

/** Encodes an RGBA image as a PNG blob (through a canvas, which every browser encodes natively). */
export function imageToPngBlob(image: DiffusionImage): Promise<Blob> {
  const canvas = document.createElement('canvas');
  drawImage(canvas, image);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new OmniDiffusionError(`Encoding a ${image.width}x${image.height} image as PNG failed.`))), 'image/png');
  });
}
