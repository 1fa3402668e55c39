import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../../src/io/png-encode.js';

function image(width: number, height: number, alpha: (i: number) => number) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([i * 7, i * 13, i * 29, alpha(i)], i * 4);
  return { width, height, data };
}

describe('encodePng', () => {
  it('writes an opaque image as 8-bit RGB with the same pixels', () => {
    const img = image(5, 3, () => 255);
    const png = decode(encodePng(img));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([5, 3, 3, 8]);
    const rgb = Array.from(img.data).filter((_, i) => i % 4 !== 3);
    expect(Array.from(png.data)).toEqual(rgb);
  });

  it('keeps the alpha channel when a pixel is not opaque', () => {
    const img = image(4, 2, (i) => (i === 5 ? 10 : 255));
    const png = decode(encodePng(img));
    expect(png.channels).toBe(4);
    expect(Array.from(png.data)).toEqual(Array.from(img.data));
  });
});
