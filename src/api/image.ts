/** An RGBA8 image, row-major, `width * height * 4` bytes. */
export interface DiffusionImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
  /** The seed that reproduces this image, when the executor knows it. */
  seed?: number;
}
