import { encode } from 'fast-png';
import type { Reply, Responder } from './fault-server.js';

/**
 * Stand-ins for the image servers the `http` executor talks to: vllm-omni's
 * `/v1/images/generations` and AUTOMATIC1111's `/sdapi/v1/txt2img`. Each image is a
 * deterministic pattern of its size and seed, so a client can check what it decoded.
 */

/** Seed a fake server uses when the request leaves it to the server. */
export const SERVER_CHOSEN_SEED = 4242;

/** Size a fake server uses when the request does not say. */
export const SERVER_DEFAULT_SIZE = 16;

/** RGBA pixels that depend on position, channel and seed. */
export function testPattern(width: number, height: number, seed: number): Uint8ClampedArray {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 16 + seed) & 255;
      data[o + 1] = (y * 16 + seed * 3) & 255;
      data[o + 2] = (x * y + seed * 7) & 255;
      data[o + 3] = 255 - ((x + y + seed) & 63);
    }
  }
  return data;
}

/** `testPattern` as a base64 RGBA PNG. */
export function pngBase64(width: number, height: number, seed: number): string {
  return Buffer.from(encode({ width, height, data: testPattern(width, height, seed), channels: 4, depth: 8 })).toString('base64');
}

/** Answers like vllm-omni: `n` PNGs of the asked `size`, image i drawn with `seed + i`. */
export const openaiImagesResponder: Responder = (req) => openaiImagesReply(req.json());

/** The success reply vllm-omni would give to `body`. */
export function openaiImagesReply(body: Record<string, unknown>): Reply {
  const [width, height] = typeof body.size === 'string' ? body.size.split('x').map(Number) : [SERVER_DEFAULT_SIZE, SERVER_DEFAULT_SIZE];
  const n = typeof body.n === 'number' ? body.n : 1;
  const seed = typeof body.seed === 'number' ? body.seed : SERVER_CHOSEN_SEED;
  const data = Array.from({ length: n }, (_, i) => ({ b64_json: pngBase64(width!, height!, seed + i), url: null, revised_prompt: null }));
  return { json: { created: Math.floor(Date.now() / 1000), data } };
}

/**
 * Answers like AUTOMATIC1111: `batch_size` PNGs, seeds in `info.all_seeds`, and, as the web
 * UI does for batches, a grid image first with `info.index_of_first_image = 1`.
 */
export const a1111Responder: Responder = (req) => {
  const body = req.json();
  const width = typeof body.width === 'number' ? body.width : SERVER_DEFAULT_SIZE;
  const height = typeof body.height === 'number' ? body.height : SERVER_DEFAULT_SIZE;
  const batch = typeof body.batch_size === 'number' ? body.batch_size : 1;
  const seed = typeof body.seed === 'number' && body.seed >= 0 ? body.seed : SERVER_CHOSEN_SEED;
  const seeds = Array.from({ length: batch }, (_, i) => seed + i);
  const images = seeds.map((s) => pngBase64(width, height, s));
  const grid = batch > 1 ? [pngBase64(width * batch, height, 0)] : [];
  const info = JSON.stringify({ seed, all_seeds: seeds, index_of_first_image: grid.length });
  return { json: { images: [...grid, ...images], parameters: body, info } };
};
