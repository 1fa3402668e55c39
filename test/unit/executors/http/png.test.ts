import { crc32 } from 'node:zlib';
import { encode, type ImageData } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { PngDecodeError } from '../../../../src/executors/http/errors.js';
import { decodeBase64, decodePngToRgba } from '../../../../src/executors/http/png.js';
import { testPattern } from '../../../helpers/fake-image-api.js';

const W = 5;
const H = 3;
const rgba = testPattern(W, H, 9);

/** Keeps the channels `pick` returns of each RGBA pixel of `rgba`. */
function channelsOf(pick: (r: number, g: number, b: number, a: number) => number[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < W * H; p++) out.push(...pick(rgba[p * 4]!, rgba[p * 4 + 1]!, rgba[p * 4 + 2]!, rgba[p * 4 + 3]!));
  return out;
}

/** Packs `values` (each below 2^depth) into PNG rows of `width` samples, each row starting on a byte. */
function packRows(values: number[], width: number, depth: number): Uint8Array {
  const bytesPerRow = Math.ceil((width * depth) / 8);
  const rows = values.length / width;
  const out = new Uint8Array(bytesPerRow * rows);
  values.forEach((v, i) => {
    const row = Math.floor(i / width);
    const bit = (i % width) * depth;
    out[row * bytesPerRow + (bit >> 3)]! |= v << (8 - depth - (bit & 7));
  });
  return out;
}

/** Inserts a chunk right before IDAT, for chunks fast-png's encoder does not write. */
function withChunk(png: Uint8Array, type: string, data: Uint8Array): Uint8Array {
  const idat = Buffer.from(png).indexOf('IDAT') - 4;
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const chunk = Buffer.alloc(body.length + 8);
  chunk.writeUInt32BE(data.length, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), body.length + 4);
  return Buffer.concat([png.subarray(0, idat), chunk, png.subarray(idat)]);
}

async function decoded(image: ImageData): Promise<number[]> {
  const out = await decodePngToRgba(encode(image));
  expect([out.width, out.height]).toEqual([image.width, image.height]);
  expect(out.data).toBeInstanceOf(Uint8ClampedArray);
  return Array.from(out.data);
}

describe('decodePngToRgba', () => {
  it('decodes 8-bit RGBA unchanged, interlaced or not', async () => {
    expect(await decoded({ width: W, height: H, data: rgba, channels: 4, depth: 8 })).toEqual(Array.from(rgba));
    const interlaced = await decodePngToRgba(encode({ width: W, height: H, data: rgba, channels: 4, depth: 8 }, { interlace: 'Adam7' }));
    expect(Array.from(interlaced.data)).toEqual(Array.from(rgba));
  });

  it('decodes RGB with an opaque alpha', async () => {
    const data = Uint8Array.from(channelsOf((r, g, b) => [r, g, b]));
    expect(await decoded({ width: W, height: H, data, channels: 3, depth: 8 })).toEqual(channelsOf((r, g, b) => [r, g, b, 255]));
  });

  it('decodes grey and grey+alpha by repeating the grey in R, G and B', async () => {
    const grey = Uint8Array.from(channelsOf((r) => [r]));
    expect(await decoded({ width: W, height: H, data: grey, channels: 1, depth: 8 })).toEqual(channelsOf((r) => [r, r, r, 255]));
    const greyAlpha = Uint8Array.from(channelsOf((r, _g, _b, a) => [r, a]));
    expect(await decoded({ width: W, height: H, data: greyAlpha, channels: 2, depth: 8 })).toEqual(channelsOf((r, _g, _b, a) => [r, r, r, a]));
  });

  it('scales 16-bit samples to 8 bits', async () => {
    const wide = Uint16Array.from(rgba, (v) => v * 257);
    expect(await decoded({ width: W, height: H, data: wide, channels: 4, depth: 16 })).toEqual(Array.from(rgba));
    const rounding = Uint16Array.from([0, 128, 129, 65535]);
    expect(await decoded({ width: 4, height: 1, data: rounding, channels: 1, depth: 16 })).toEqual([0, 0, 0, 255, 0, 0, 0, 255, 1, 1, 1, 255, 255, 255, 255, 255]);
  });

  it('scales packed 1-bit grey to 0 and 255, with rows that do not end on a byte', async () => {
    const bits = Array.from({ length: 10 * 2 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const out = await decoded({ width: 10, height: 2, data: packRows(bits, 10, 1), channels: 1, depth: 1 });
    expect(out).toEqual(bits.flatMap((b) => [b * 255, b * 255, b * 255, 255]));
  });

  it('looks up 8-bit and packed 2-bit palettes, with palette alpha', async () => {
    // Translucent entries first: fast-png's encoder writes tRNS as the list of non-opaque alphas.
    const palette = [
      [0, 255, 0, 128],
      [0, 0, 255, 0],
      [255, 0, 0, 255],
      [10, 20, 30, 255],
    ];
    const indices = Array.from({ length: W * H }, (_, i) => (i * 3) % 4);
    const expected = indices.flatMap((i) => palette[i]!);
    expect(await decoded({ width: W, height: H, data: Uint8Array.from(indices), channels: 1, depth: 8, palette })).toEqual(expected);
    expect(await decoded({ width: W, height: H, data: packRows(indices, W, 2), channels: 1, depth: 2, palette })).toEqual(expected);
  });

  it('makes the tRNS key colour of RGB and grey images transparent', async () => {
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6, 1, 2, 3]);
    const keyedRgb = withChunk(encode({ width: 3, height: 1, data: rgb, channels: 3, depth: 8 }), 'tRNS', Uint8Array.from([0, 1, 0, 2, 0, 3]));
    expect(Array.from((await decodePngToRgba(keyedRgb)).data)).toEqual([1, 2, 3, 0, 4, 5, 6, 255, 1, 2, 3, 0]);
    const grey = Uint8Array.from([7, 8]);
    const keyedGrey = withChunk(encode({ width: 2, height: 1, data: grey, channels: 1, depth: 8 }), 'tRNS', Uint8Array.from([0, 8]));
    expect(Array.from((await decodePngToRgba(keyedGrey)).data)).toEqual([7, 7, 7, 255, 8, 8, 8, 0]);
  });

  it('names the format when the bytes are a JPEG, WebP or GIF instead of a PNG', async () => {
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]);
    const webp = Uint8Array.from(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'));
    const gif = Uint8Array.from(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
    await expect(decodePngToRgba(jpeg)).rejects.toThrow(/the image is a JPEG, not a PNG/);
    await expect(decodePngToRgba(webp)).rejects.toThrow(/the image is a WebP, not a PNG/);
    await expect(decodePngToRgba(gif)).rejects.toThrow(/the image is a GIF, not a PNG/);
    await expect(decodePngToRgba(Uint8Array.from([1, 2, 3]))).rejects.toThrow(/not a PNG \(3 bytes without the PNG signature\)/);
  });

  it('throws PngDecodeError for a truncated PNG', async () => {
    const png = encode({ width: W, height: H, data: rgba, channels: 4, depth: 8 });
    await expect(decodePngToRgba(png.subarray(0, 40))).rejects.toThrow(PngDecodeError);
    await expect(decodePngToRgba(png.subarray(0, 40))).rejects.toThrow(/^corrupt PNG: /);
  });
});

describe('decodeBase64', () => {
  const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 253]);
  const b64 = Buffer.from(bytes).toString('base64');

  it('decodes plain base64, with line breaks, and data: URLs', async () => {
    expect(decodeBase64(b64)).toEqual(bytes);
    expect(decodeBase64(`${b64.slice(0, 4)}\n${b64.slice(4)}`)).toEqual(bytes);
    expect(decodeBase64(`data:image/png;base64,${b64}`)).toEqual(bytes);
  });

  it('throws PngDecodeError on characters outside the alphabet or a truncated quantum', async () => {
    expect(() => decodeBase64('abc$')).toThrow(PngDecodeError);
    expect(() => decodeBase64('abcde')).toThrow(/invalid base64 \(5 characters/);
  });
});
