import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteProgress } from '../../../../src/io/byte-source.js';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { ModelFileNotFoundError, ModelSourceError } from '../../../../src/io/errors.js';
import { UrlSource } from '../../../../src/io/sources/url-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { startLoopbackServer, type LoopbackServer } from '../loopback-server.js';

let server: LoopbackServer;

beforeAll(async () => {
  server = await startLoopbackServer((path) => {
    if (path.startsWith('/private/')) return 403;
    if (path.startsWith('/broken/')) return 500;
    return path.startsWith('/models/sd15/') ? fixturePath('pipeline-sd15-tiny', path.slice('/models/sd15/'.length)) : null;
  });
});
afterAll(() => server.close());

describe('UrlSource', () => {
  it('fetches files under the base URL, with their size and byte progress up to it', async () => {
    const source = new UrlSource(`${server.url}/models/sd15`);
    const progress: ByteProgress[] = [];
    const file = await source.fetchFile('unet/diffusion_pytorch_model.safetensors', { onProgress: (p) => progress.push(p) });
    const expected = readFileSync(fixturePath('pipeline-sd15-tiny', 'unet/diffusion_pytorch_model.safetensors'));
    expect(file.size).toBe(expected.byteLength);
    const bytes = await readAllBytes(file.stream);
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
    expect(progress.at(-1)).toEqual({ file: 'unet/diffusion_pytorch_model.safetensors', loaded: expected.byteLength, total: expected.byteLength, origin: 'network' });
    expect(server.requests.at(-1)!.path).toBe('/models/sd15/unet/diffusion_pytorch_model.safetensors');
  });

  it('reads text files', async () => {
    const text = await new UrlSource(`${server.url}/models/sd15/`).readText('model_index.json');
    expect(JSON.parse(text)._class_name).toBe('StableDiffusionPipeline');
  });

  it('reports a 404 as ModelFileNotFoundError naming the path and URL', async () => {
    const err = await new UrlSource(`${server.url}/models/sd15`).fetchFile('unet/missing.safetensors').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileNotFoundError);
    expect((err as ModelFileNotFoundError).path).toBe('unet/missing.safetensors');
    expect((err as ModelFileNotFoundError).message).toContain(`${server.url}/models/sd15/unet/missing.safetensors`);
  });

  it('reports other HTTP errors with their status, hinting at tokens for 403', async () => {
    const denied = await new UrlSource(`${server.url}/private`).fetchFile('a.json').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ModelSourceError);
    expect(denied).not.toBeInstanceOf(ModelFileNotFoundError);
    expect((denied as ModelSourceError).status).toBe(403);
    expect((denied as Error).message).toMatch(/access token/);
    const broken = await new UrlSource(`${server.url}/broken`).fetchFile('a.json').catch((e: unknown) => e);
    expect((broken as ModelSourceError).status).toBe(500);
  });

  it('reports a refused connection as ModelSourceError', async () => {
    const err = await new UrlSource('http://127.0.0.1:9/').fetchFile('a.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as ModelSourceError).status).toBeNull();
  });

  it('refuses paths that leave the model', async () => {
    const source = new UrlSource(`${server.url}/models/sd15`);
    const before = server.requests.length;
    await expect(source.fetchFile('../secret')).rejects.toThrow(/without "\.\."/);
    await expect(source.fetchFile('/etc/passwd')).rejects.toThrow(ModelSourceError);
    expect(server.requests.length).toBe(before);
  });
});
