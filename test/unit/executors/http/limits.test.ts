import { encode } from 'fast-png';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiffusionConfig, DiffusionRequest, HTTPDiffusionExecutor, type DiffusionRequestInit } from '../../../../src/index.js';
import { defaultMaxResponseBytes, maxPngBase64Chars, UNSIZED_MAX_RESPONSE_BYTES } from '../../../../src/executors/http/limits.js';
import { FaultServer } from '../../../helpers/fault-server.js';

/**
 * The limits must never refuse an honest answer: these build the largest answers a server can
 * honestly send (PNGs stored without compression at 16 bits a sample, AUTOMATIC1111's batch
 * grid, prompts echoed and escaped) and check that they are read and decoded.
 */

const TXT2IMG = '/sdapi/v1/txt2img';

let server: FaultServer;

beforeEach(async () => {
  server = await FaultServer.start();
});

afterEach(async () => {
  await server.close();
});

/** A `width`×`height` PNG of 16-bit RGBA noise, deflate level 0 (stored), optionally Adam7-interlaced. */
function worstCasePng(width: number, height: number, interlace: 'null' | 'Adam7' = 'null'): Buffer {
  const data = new Uint16Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 16;
  return Buffer.from(encode({ width, height, data, channels: 4, depth: 16 }, { interlace, zlib: { level: 0 } }));
}

/** JSON as Python writes it by default: every non-ASCII character as a `\uXXXX` escape. */
function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe('http executor limits accept the largest honest answers', () => {
  it.each(['null', 'Adam7'] as const)('reads an AUTOMATIC1111 batch of 16-bit stored PNGs with its grid and echoed prompts (interlace %s)', async (interlace) => {
    const init: DiffusionRequestInit = { prompt: 'été '.repeat(500), negativePrompt: 'flou, '.repeat(100), width: 48, height: 40, numOutputsPerPrompt: 3, seed: 5 };
    const request = new DiffusionRequest(init);
    const images = [worstCasePng(48 * 3, 40, interlace), ...[0, 1, 2].map(() => worstCasePng(48, 40, interlace))].map((png) => png.toString('base64'));
    const info = pythonJson({ all_prompts: [init.prompt, init.prompt, init.prompt], all_negative_prompts: Array(3).fill(init.negativePrompt), all_seeds: [5, 6, 7], index_of_first_image: 1 });
    const body = pythonJson({ images, parameters: init, info });
    expect(images[1]!.length).toBeLessThanOrEqual(maxPngBase64Chars(48, 40));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(defaultMaxResponseBytes(request));
    server.route(`POST ${TXT2IMG}`, [{ stream: () => [body] }]);
    const executor = new HTTPDiffusionExecutor(new DiffusionConfig({ numGpus: 0, http: { baseUrl: server.url, api: 'a1111', maxRetries: 0 } }));
    await executor.initExecutor();
    try {
      const [out] = await executor.executeModel([request]);
      expect(out!.error).toBeNull();
      expect(out!.images.map((im) => [im.width, im.height, im.seed])).toEqual([
        [48, 40, 5],
        [48, 40, 6],
        [48, 40, 7],
      ]);
    } finally {
      await executor.close();
    }
  });

  it('sizes the default limit to the request, and to 256 MiB when the server picks the size', () => {
    const small = defaultMaxResponseBytes(new DiffusionRequest({ prompt: 'x', width: 64, height: 64 }));
    const large = defaultMaxResponseBytes(new DiffusionRequest({ prompt: 'x', width: 1024, height: 1024, numOutputsPerPrompt: 4 }));
    expect(small).toBeLessThan(8 * 2 ** 20);
    expect(large).toBeGreaterThan(4 * 2 * 1024 * 1024 * 8 * (4 / 3));
    expect(large).toBeLessThan(4 * 2 * 1024 * 1024 * 8 * 1.5 + 16 * 2 ** 20);
    expect(defaultMaxResponseBytes(new DiffusionRequest({ prompt: 'x', width: 64 }))).toBe(UNSIZED_MAX_RESPONSE_BYTES);
  });
});
