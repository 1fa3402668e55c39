import { encode } from 'fast-png';
import type { DiffusionImage } from '../api/image.js';

/**
 * Encodes an RGBA8 image as PNG: 8-bit RGB when every pixel is opaque (what the pipelines make,
 * a quarter smaller), RGBA otherwise.
 */
export function encodePng(image: DiffusionImage): Uint8Array {
  const { width, height, data } = image;
  let opaque = true;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] !== 255) {
      opaque = false;
      break;
    }
  }
  if (!opaque) return encode({ width, height, data, channels: 4, depth: 8 });
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    rgb[q] = data[p]!;
    rgb[q + 1] = data[p + 1]!;
    rgb[q + 2] = data[p + 2]!;
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}
