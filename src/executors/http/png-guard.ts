/**
 * Checks a PNG is what it claims before it is decoded: the header (IHDR) read on its own, even
 * from the first characters of the base64, and the compressed image data inflated with a
 * byte count, since the decoder would otherwise allocate whatever a hostile file asks for.
 */
import { PngDecodeError, PngTooLargeError } from './errors.js';
import { base64Payload, hasPngSignature, notPngError } from './png.js';

/** What a PNG's IHDR chunk says. */
export interface PngHeader {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  depth: number;
  colorType: number;
  /** Samples per pixel the colour type implies (1 for palette images). */
  channels: number;
  /** Adam7 interlacing. */
  interlaced: boolean;
}

/** Signature (8), IHDR length and type (8), IHDR data (13). */
const HEADER_BYTES = 29;
/** Base64 characters that decode to at least `HEADER_BYTES` (4 per 3 bytes, whole quanta). */
const HEADER_BASE64_CHARS = 40;
/** Largest chunk length the PNG spec allows (2^31 - 1), and largest width and height. */
const MAX_PNG_UINT = 2 ** 31 - 1;

/** Bit depths each colour type allows, and its samples per pixel. */
const COLOR_TYPES: Record<number, { depths: number[]; channels: number }> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 },
  2: { depths: [8, 16], channels: 3 },
  3: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 },
  6: { depths: [8, 16], channels: 4 },
};

/** Chunks the RGBA decoder needs. The rest (text, ICC profiles, which fast-png inflates unbounded) are dropped. */
const KEPT_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

/**
 * Inflated bytes tolerated beyond what the header describes. A conforming encoder produces
 * none; the margin only spares odd encoders, and is nothing next to a bomb's thousandfold.
 */
const INFLATE_SLACK_BYTES = 64 * 1024;

/** Adam7's passes: first column and row, then column and row step. */
const ADAM7: Array<[number, number, number, number]> = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function corrupt(what: string): PngDecodeError {
  return new PngDecodeError(`corrupt PNG: ${what}`);
}

/** Reads and checks the signature and IHDR chunk at the start of `bytes`; throws `PngDecodeError`. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < 8 || !hasPngSignature(bytes)) throw notPngError(bytes);
  if (bytes.length < HEADER_BYTES) throw corrupt(`truncated in its header (${bytes.length} bytes; the IHDR chunk ends at byte ${HEADER_BYTES})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8);
  const type = chunkType(bytes, 12);
  if (type !== 'IHDR' || length !== 13) throw corrupt(`the first chunk is ${JSON.stringify(type)} of ${length} bytes, not a 13-byte IHDR`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  const compression = bytes[26]!;
  const filter = bytes[27]!;
  const interlace = bytes[28]!;
  if (width === 0 || height === 0 || width > MAX_PNG_UINT || height > MAX_PNG_UINT) {
    throw corrupt(`its header says ${width}x${height} (WxH); each side must be 1 to ${MAX_PNG_UINT}`);
  }
  const color = COLOR_TYPES[colorType];
  if (!color) throw corrupt(`unknown colour type ${colorType}`);
  if (!color.depths.includes(depth)) throw corrupt(`bit depth ${depth} with colour type ${colorType} (allowed: ${color.depths.join(', ')})`);
  if (compression !== 0 || filter !== 0 || interlace > 1) {
    throw corrupt(`unknown compression (${compression}), filter (${filter}) or interlace (${interlace}) method`);
  }
  return { width, height, depth, colorType, channels: color.channels, interlaced: interlace === 1 };
}

/**
 * Reads the header of a base64 PNG (or `data:` URL) from its first 40 characters, so that a
 * size can be refused before megabytes of base64 are decoded. Throws `PngDecodeError`.
 */
export function peekPngHeader(base64: string): PngHeader {
  const payload = base64Payload(base64);
  let head = '';
  for (let i = 0; i < payload.length && head.length < HEADER_BASE64_CHARS; i++) {
    const c = payload[i]!;
    if (!/\s/.test(c)) head += c;
  }
  let binary: string;
  try {
    // 40 characters are whole quanta; a shorter head is the whole payload, as decodeBase64 sees it.
    binary = atob(head);
  } catch {
    throw new PngDecodeError(`invalid base64 (${payload.length} characters, not a valid base64 string)`);
  }
  return readPngHeader(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** Bytes of filtered scanlines `header` describes: what its IDAT data must inflate to. */
export function pngPixelDataBytes(header: PngHeader): number {
  const bitsPerPixel = header.channels * header.depth;
  const scanlines = (width: number, rows: number): number => (width > 0 && rows > 0 ? rows * (1 + Math.ceil((width * bitsPerPixel) / 8)) : 0);
  if (!header.interlaced) return scanlines(header.width, header.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += scanlines(Math.ceil((header.width - x0) / dx), Math.ceil((header.height - y0) / dy));
  return total;
}

/**
 * Checks the chunks of a PNG whose header is `header` and returns a copy holding only the
 * chunks the decoder needs. Throws `PngDecodeError` on a truncated or malformed chunk, a
 * second IHDR (which would change the size after it was checked), no IDAT or no IEND, and
 * `PngTooLargeError` when the IDAT data inflates past what the header describes.
 */
export async function guardPng(bytes: Uint8Array<ArrayBuffer>, header: PngHeader): Promise<Uint8Array<ArrayBuffer>> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept: Uint8Array<ArrayBuffer>[] = [bytes.subarray(0, 8)];
  const idat: Uint8Array<ArrayBuffer>[] = [];
  let offset = 8;
  let ended = false;
  while (!ended) {
    if (offset + 12 > bytes.length) throw corrupt(`truncated at byte ${offset} of ${bytes.length}, before its IEND chunk`);
    const length = view.getUint32(offset);
    const type = chunkType(bytes, offset + 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(`chunk at byte ${offset} has the invalid type ${JSON.stringify(type)}`);
    const end = offset + 12 + length;
    if (length > MAX_PNG_UINT || end > bytes.length) throw corrupt(`truncated: chunk ${type} at byte ${offset} claims ${length} bytes, ${bytes.length - offset - 12} remain`);
    if (type === 'IHDR' && offset !== 8) throw corrupt(`a second IHDR chunk at byte ${offset}`);
    if (type === 'IDAT') idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    if (KEPT_CHUNKS.has(type)) kept.push(bytes.subarray(offset, end));
    ended = type === 'IEND';
    offset = end;
  }
  if (idat.length === 0) throw corrupt('no IDAT chunk (no image data)');
  await checkInflatedSize(idat, pngPixelDataBytes(header) + INFLATE_SLACK_BYTES, header);
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of kept) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Inflates the zlib stream split over `parts`, counting the output and stopping the moment
 * it passes `limit`. Uses the platform's `DecompressionStream` (browsers and Node alike).
 */
async function checkInflatedSize(parts: Uint8Array<ArrayBuffer>[], limit: number, header: PngHeader): Promise<void> {
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const feeding = (async () => {
    for (const part of parts) await writer.write(part);
    await writer.close();
  })();
  // A failure while feeding shows on the reading side too (or is the cancel below).
  feeding.catch(() => undefined);
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > limit) break;
    }
  } catch (cause) {
    throw corrupt(`its image data does not inflate (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  await reader.cancel().catch(() => undefined);
  throw new PngTooLargeError(
    `its image data inflates past ${limit} bytes, while its ${header.width}x${header.height} (WxH) header needs ${limit - INFLATE_SLACK_BYTES} (a decompression bomb); stopped inflating there`,
    limit,
    'bytes',
  );
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}
