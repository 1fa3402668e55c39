import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine } from '../../../src/api/engine.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { writeTaesdRepo } from '../helpers/taesd-repo.js';

const COMMIT = 'c'.repeat(40);
const turbo = fixturePath('pipeline-sdxl-turbo-tiny');

/**
 * A loopback Hub serving the tiny SDXL-Turbo fixture as `stabilityai/sdxl-turbo`, with an `fp16`
 * UNet variant (the UNet fixture's own fp16 file: the same weights rounded, as published
 * variants are) and no fp16 text encoders, as in repos that ship only some variants.
 */
function hubFile(path: string): string | null {
  if (path === 'unet/diffusion_pytorch_model.fp16.safetensors') return fixturePath('unet-sdxl-tiny', 'model.fp16.safetensors');
  const file = join(turbo, path);
  return !path.includes('..') && existsSync(file) && statSync(file).isFile() ? file : null;
}

// The fixture TAESD served as madebyollin/taesdxl, for `taesd: 'auto'` (nothing else is served).
const taesdDir = writeTaesdRepo(mkdtempSync(join(tmpdir(), 'omni-sdxl-taesd-')));
function taesdFile(path: string): string | null {
  const file = join(taesdDir, path);
  return !path.includes('..') && existsSync(file) ? file : null;
}

let server: Server;
/** While set, every request is dropped without an answer, as an unreachable Hub would be. */
let offline = false;
let endpoint: string;
const log: string[] = [];
const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, OMNI_DIFFUSION_CACHE: process.env.OMNI_DIFFUSION_CACHE };
const cache = mkdtempSync(join(tmpdir(), 'omni-sdxl-hub-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (offline) {
      req.socket.destroy();
      return;
    }
    const m = /^\/(stabilityai\/sdxl-turbo|madebyollin\/taesdxl)\/resolve\/[^/]+\/(.+)$/.exec(decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    const file = !m ? null : m[1] === 'stabilityai/sdxl-turbo' ? hubFile(m[2]!) : taesdFile(m[2]!);
    log.push(`${req.method} ${m ? `${m[1] === 'stabilityai/sdxl-turbo' ? '' : `${m[1]}:`}${m[2]}` : req.url}${file ? '' : ' 404'}`);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': String(body.byteLength), 'x-repo-commit': COMMIT });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.HF_ENDPOINT = endpoint;
  process.env.OMNI_DIFFUSION_CACHE = cache;
});

afterAll(async () => {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise((ok) => server?.close(ok));
  rmSync(cache, { recursive: true, force: true });
});

describe('an SDXL model by Hub id, through the sources and the cache', () => {
  it('loads stabilityai/sdxl-turbo with variant fp16 (both tokenizers and text encoders, the fp16 UNet), generates, then loads again from the cache alone', async () => {
    const generate = async (): Promise<Uint8ClampedArray> => {
      const engine = await DiffusionEngine.create({ modelNameOrPath: 'stabilityai/sdxl-turbo', variant: 'fp16', dtype: 'f32' });
      try {
        const out = await engine.generate({ prompt: 'a photo of a cat', width: 64, height: 64, seed: 4 });
        expect(out.images.map((im) => [im.width, im.height])).toEqual([[64, 64]]);
        return out.images[0]!.data;
      } finally {
        await engine.close();
      }
    };
    const first = await generate();
    const got = log.filter((l) => l.startsWith('GET') && !l.endsWith('404')).map((l) => l.slice(4));
    expect(got).toEqual(
      expect.arrayContaining([
        'model_index.json',
        'tokenizer/vocab.json',
        'tokenizer_2/vocab.json',
        'tokenizer_2/tokenizer_config.json',
        'text_encoder_2/config.json',
        'text_encoder/model.safetensors',
        'text_encoder_2/model.safetensors',
        'unet/diffusion_pytorch_model.fp16.safetensors',
        'vae/diffusion_pytorch_model.safetensors',
      ]),
    );
    // The fp16 UNet was found, so the f32 one was never downloaded.
    expect(got).not.toContain('unet/diffusion_pytorch_model.safetensors');

    // Offline: the cache holds every file of that commit.
    offline = true;
    log.length = 0;
    try {
      const again = await generate();
      expect(again).toEqual(first);
    } finally {
      offline = false;
    }
  });

  it("with taesd 'auto' loads SDXL's TAESD (madebyollin/taesdxl), never SD's, and decodes with it", async () => {
    const engine = await DiffusionEngine.create({ modelNameOrPath: 'stabilityai/sdxl-turbo', variant: 'fp16', dtype: 'f32', taesd: 'auto' });
    try {
      const out = await engine.generate({ prompt: 'a photo of a cat', width: 64, height: 64, seed: 4, decoder: 'taesd' });
      expect(out.images.map((im) => [im.width, im.height])).toEqual([[64, 64]]);
    } finally {
      await engine.close();
    }
    expect(log.some((l) => l.includes('madebyollin/taesdxl:diffusion_pytorch_model.safetensors'))).toBe(true);
    expect(log.some((l) => l.includes('madebyollin/taesd:'))).toBe(false);
  });
});
