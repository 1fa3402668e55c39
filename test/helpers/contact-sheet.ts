import { encode } from 'fast-png';
import type { DiffusionImage } from '../../src/api/image.js';

/** One tile of a contact sheet: the image and the colour of the frame around it. */
export interface ContactTile {
  image: DiffusionImage;
  frame: readonly [number, number, number];
}

/**
 * A PNG of the tiles in a grid, each scaled up by `scale` (nearest neighbour, so pixels stay
 * visible) inside a `frame`-pixel border of its own colour: a person can see at a glance which
 * verdict each image got.
 */
export function contactSheetPng(tiles: readonly ContactTile[], options: { columns: number; scale: number; frame: number }): Uint8Array {
  const { columns, scale, frame } = options;
  const tileW = Math.max(...tiles.map((t) => t.image.width)) * scale + 2 * frame;
  const tileH = Math.max(...tiles.map((t) => t.image.height)) * scale + 2 * frame;
  const width = columns * tileW;
  const height = Math.ceil(tiles.length / columns) * tileH;
  const data = new Uint8Array(width * height * 4).fill(255);
  tiles.forEach(({ image, frame: rgb }, i) => {
    const x0 = (i % columns) * tileW;
    const y0 = Math.floor(i / columns) * tileH;
    for (let y = 0; y < image.height * scale + 2 * frame; y++) {
      for (let x = 0; x < image.width * scale + 2 * frame; x++) {
        const o = ((y0 + y) * width + x0 + x) * 4;
        const ix = Math.floor((x - frame) / scale);
        const iy = Math.floor((y - frame) / scale);
        const inImage = x >= frame && y >= frame && ix < image.width && iy < image.height;
        data.set(inImage ? image.data.subarray((iy * image.width + ix) * 4, (iy * image.width + ix) * 4 + 4) : [...rgb, 255], o);
      }
    }
  });
  return encode({ width, height, data, channels: 4, depth: 8 });
}
