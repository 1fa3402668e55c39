import type { DecodedPng } from 'fast-png';
import type { DiffusionImage } from '../../api/image.js';
import { PngDecodeError } from './errors.js';

/** The 8 bytes every PNG starts with. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start with the PNG signature (checked here: importing the decoder for it would defeat its lazy load). */
export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Signatures of the formats a server may send instead of PNG, to say which one it was. */
const OTHER_FORMATS: Array<[string, (b: Uint8Array) => boolean]> = [
  ['JPEG', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP'],
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
];

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** The base64 of `text`: all of it, or what follows the comma of a `data:...;base64,` URL. */
export function base64Payload(text: string): string {
  return text.replace(/^data:[^,]*;base64,/, '');
}

/**
 * Decodes base64 text (optionally a `data:...;base64,` URL, whitespace allowed) into bytes.
 * Throws `PngDecodeError` on characters outside the base64 alphabet or a truncated quantum.
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const payload = base64Payload(text);
  let binary: string;
  try {
    binary = atob(payload.replace(/\s+/g, ''));
  } catch {
    throw new PngDecodeError(`invalid base64 (${payload.length} characters, not a valid base64 string)`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Decodes a PNG of any colour type and bit depth (grey, grey+alpha, RGB, RGBA, palette; 1 to
 * 16 bits; `tRNS` transparency) into an 8-bit RGBA `DiffusionImage`. Throws `PngDecodeError`
 * naming the problem, including the format when the bytes are a JPEG, WebP or GIF.
 */
export async function decodePngToRgba(bytes: Uint8Array): Promise<DiffusionImage> {
  if (!hasPngSignature(bytes)) throw notPngError(bytes);
  // Loaded on the first image: an app that never uses the http executor never loads the decoder.
  const { decode } = await import('fast-png');
  let png: DecodedPng;
  try {
    png = decode(bytes);
  } catch (cause) {
    throw new PngDecodeError(`corrupt PNG: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return { width: png.width, height: png.height, data: toRgba8(png) };
}

/** The error for bytes without the PNG signature, naming their format when it is a JPEG, WebP or GIF. */
export function notPngError(bytes: Uint8Array): PngDecodeError {
  const other = OTHER_FORMATS.find(([, test]) => test(bytes));
  if (other) return new PngDecodeError(`the image is a ${other[0]}, not a PNG (ask the server for PNG output)`);
  return new PngDecodeError(`not a PNG (${bytes.length} bytes without the PNG signature)`);
}

/** Reads sample `c` of pixel (x, y) as stored: packed for depths below 8, 16-bit words at 16. */
function sampleReader(png: DecodedPng): (x: number, y: number, c: number) => number {
  const { width, depth, channels, data } = png;
  if (depth >= 8) return (x, y, c) => data[(y * width + x) * channels + c]!;
  const bytesPerRow = Math.ceil((width * channels * depth) / 8);
  const mask = (1 << depth) - 1;
  return (x, y, c) => {
    const bit = (x * channels + c) * depth;
    const byte = data[y * bytesPerRow + (bit >> 3)]!;
    return (byte >> (8 - depth - (bit & 7))) & mask;
  };
}

function toRgba8(png: DecodedPng): Uint8ClampedArray {
  const { width, height, depth, channels } = png;
  const out = new Uint8ClampedArray(width * height * 4);
  const sample = sampleReader(png);
  const maxValue = 2 ** depth - 1;
  const to8 = depth === 8 ? (v: number) => v : (v: number) => Math.round((v * 255) / maxValue);
  const palette = png.palette;
  const key = png.transparency;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (palette) {
        const index = sample(x, y, 0);
        const color = palette[index];
        if (!color) throw new PngDecodeError(`corrupt PNG: pixel (${x}, ${y}) uses palette index ${index} of ${palette.length}`);
        out[o] = color[0]!;
        out[o + 1] = color[1]!;
        out[o + 2] = color[2]!;
        out[o + 3] = color[3] ?? 255;
        continue;
      }
      const first = sample(x, y, 0);
      if (channels <= 2) {
        const grey = to8(first);
        out[o] = out[o + 1] = out[o + 2] = grey;
        out[o + 3] = channels === 2 ? to8(sample(x, y, 1)) : key && key[0] === first ? 0 : 255;
      } else {
        const g = sample(x, y, 1);
        const b = sample(x, y, 2);
        out[o] = to8(first);
        out[o + 1] = to8(g);
        out[o + 2] = to8(b);
        out[o + 3] = channels === 4 ? to8(sample(x, y, 3)) : key && key[0] === first && key[1] === g && key[2] === b ? 0 : 255;
      }
    }
  }
  return out;
}
