import type { DiffusionImage } from '../../api/image.js';
import { PngDecodeError, PngTooLargeError, UnexpectedResponseError } from './errors.js';
import { maxPngBase64Chars, MAX_REMOTE_IMAGE_PIXELS } from './limits.js';
import { base64Payload, decodeBase64, decodePngToRgba } from './png.js';
import { guardPng, peekPngHeader, type PngHeader } from './png-guard.js';

/** The size the request asked for; a side left out accepts whatever the server chose. */
export interface AskedSize {
  width?: number;
  height?: number;
}

/**
 * Decodes one base64 PNG of a server's answer into RGBA, refusing before anything is decoded
 * an image whose header claims more than `MAX_REMOTE_IMAGE_PIXELS` (`PngTooLargeError`), a
 * size other than `asked` (`UnexpectedResponseError`), or more base64 than a PNG of its size
 * can need (`PngTooLargeError`); then refusing image data that inflates past what the header
 * describes (`PngTooLargeError`). Other problems are `PngDecodeError`s. Every message starts
 * with `label` (e.g. `image 2 of 4`).
 */
export async function decodeRemoteImage(base64: string, asked: AskedSize, label: string): Promise<DiffusionImage> {
  let header: PngHeader;
  try {
    header = peekPngHeader(base64);
  } catch (cause) {
    throw undecodable(label, cause);
  }
  const { width, height } = header;
  const wantW = asked.width ?? width;
  const wantH = asked.height ?? height;
  if (width * height > MAX_REMOTE_IMAGE_PIXELS) {
    throw new PngTooLargeError(
      `${label} claims ${width}x${height} (WxH) in its PNG header, ${width * height} pixels, over the ${MAX_REMOTE_IMAGE_PIXELS}-pixel (8192x8192) cap` +
        `${asked.width !== undefined || asked.height !== undefined ? `, while ${wantW}x${wantH} was asked for` : ''}; refused before decoding`,
      MAX_REMOTE_IMAGE_PIXELS,
      'pixels',
    );
  }
  if (width !== wantW || height !== wantH) {
    throw new UnexpectedResponseError(`${label} is ${width}x${height} (WxH), while ${wantW}x${wantH} was asked for`);
  }
  const chars = base64Payload(base64).length;
  const maxChars = maxPngBase64Chars(width, height);
  if (chars > maxChars) {
    throw new PngTooLargeError(
      `${label} is ${chars} base64 characters, more than any ${width}x${height} PNG needs (${maxChars} at most); refused before decoding`,
      maxChars,
      'bytes',
    );
  }
  try {
    const bytes = decodeBase64(base64);
    return await decodePngToRgba(await guardPng(bytes, header));
  } catch (cause) {
    throw undecodable(label, cause);
  }
}

/** `cause` (a `PngDecodeError`, or a `PngTooLargeError` that stays one) as `<label> could not be decoded: ...`. */
function undecodable(label: string, cause: unknown): Error {
  const message = `${label} could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}`;
  if (cause instanceof PngTooLargeError) return new PngTooLargeError(message, cause.limit, cause.unit, { cause });
  return new PngDecodeError(message, { cause });
}
