import { RequestValidationError } from './errors.js';

/**
 * RGBA8 pixels, row-major, `width * height * 4` bytes: a `DiffusionImage` (what outputs hold), a
 * browser `ImageData`, or any object of that shape.
 */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/**
 * What `DiffusionRequest.image` (img2img) accepts: RGBA pixels, or in the browser an
 * `ImageBitmap` (e.g. from `createImageBitmap(file)`), read through an `OffscreenCanvas`.
 */
export type DiffusionImageInput = RgbaPixels | ImageBitmap;

/** An own copy of an init image's pixels, whose buffer can be transferred to a worker. */
export interface RgbaImageBytes {
  width: number;
  height: number;
  data: Uint8Array;
}

function isImageBitmap(value: unknown): value is ImageBitmap {
  return typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap;
}

function isRgbaPixels(value: unknown): value is RgbaPixels {
  if (value === null || typeof value !== 'object') return false;
  const { width, height, data } = value as Partial<RgbaPixels>;
  return (
    (data instanceof Uint8ClampedArray || data instanceof Uint8Array) &&
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    data.length === width! * height! * 4
  );
}

/** Checks an init image's type and returns its size; `RequestValidationError` naming `image` otherwise. */
export function imageInputSize(value: unknown): { width: number; height: number } {
  if (isImageBitmap(value) || isRgbaPixels(value)) return { width: value.width, height: value.height };
  throw new RequestValidationError('image', value, 'RGBA pixels {width, height, data} with data of width*height*4 bytes (Uint8ClampedArray or Uint8Array), or an ImageBitmap');
}

/**
 * The init image's RGBA bytes as a fresh copy: the caller's image stays untouched when the copy's
 * buffer is transferred to a worker. An `ImageBitmap` is drawn onto an `OffscreenCanvas` and
 * read back unpremultiplied; where there is no `OffscreenCanvas` (Node) it is refused.
 */
export function readImageInput(image: DiffusionImageInput): RgbaImageBytes {
  if (!isImageBitmap(image)) return { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  if (typeof OffscreenCanvas === 'undefined') {
    throw new RequestValidationError('image', image, 'RGBA pixels here: an ImageBitmap needs OffscreenCanvas to be read, which this environment lacks');
  }
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  if (!context) throw new RequestValidationError('image', image, 'RGBA pixels here: no 2D canvas context to read the ImageBitmap with');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height);
  return { width: pixels.width, height: pixels.height, data: new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength) };
}
