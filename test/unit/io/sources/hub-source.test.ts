import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { ModelSourceError } from '../../../../src/io/errors.js';
import { HubSource } from '../../../../src/io/sources/hub-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { startLoopbackServer, type LoopbackServer } from '../loopback-server.js';

let server: LoopbackServer;

beforeAll(async () => {
  // Plays the Hub: <repo>/resolve/<revision>/<path>, with an fp16 UNet variant only at revision "fp16".
  server = await startLoopbackServer((path) => {
    const m = /^\/stabilityai\/sd-turbo\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return null;
    const [, revision, file] = m;
    if (file === 'unet/diffusion_pytorch_model.fp16.safetensors') return revision === 'fp16' ? fixturePath('unet-sd21-tiny', 'model.fp16.safetensors') : null;
    return fixturePath('pipeline-sdturbo-tiny', file!);
  });
});
afterAll(() => server.close());

describe('HubSource', () => {
  it('resolves paths to <endpoint>/<repo>/resolve/<revision>/<path>, revision main by default', () => {
    const source = new HubSource('stabilityai/sd-turbo', { endpoint: 'https://hub.example/' });
    expect(source.urlOf('unet/config.json')).toBe('https://hub.example/stabilityai/sd-turbo/resolve/main/unet/config.json');
    const pr = new HubSource('stabilityai/sd-turbo', { endpoint: 'https://hub.example', revision: 'refs/pr/3' });
    expect(pr.urlOf('model_index.json')).toBe('https://hub.example/stabilityai/sd-turbo/resolve/refs%2Fpr%2F3/model_index.json');
    expect(pr.id).not.toBe(source.id);
  });

  it('refuses malformed repo ids', () => {
    expect(() => new HubSource('not a repo')).toThrow(ModelSourceError);
    expect(() => new HubSource('../etc')).toThrow(ModelSourceError);
  });

  it('loads the fp16 variant at a revision, sending the token, through a loopback endpoint', async () => {
    const source = new HubSource('stabilityai/sd-turbo', { endpoint: server.url, revision: 'fp16', token: 'hf_test' });
    const repo = await DiffusersRepo.open(source, { variant: 'fp16' });
    const { path, tensors } = await repo.loadWeights('unet');
    expect(path).toBe('unet/diffusion_pytorch_model.fp16.safetensors');
    expect([...tensors.values()].every((t) => t.dtype === 'F16')).toBe(true);
    const paths = server.requests.map((r) => r.path);
    expect(paths).toContain('/stabilityai/sd-turbo/resolve/fp16/unet/diffusion_pytorch_model.fp16.safetensors');
    expect(server.requests.every((r) => r.authorization === 'Bearer hf_test')).toBe(true);
  });

  it('falls back to the plain weights when the variant file is missing', async () => {
    const repo = await DiffusersRepo.open(new HubSource('stabilityai/sd-turbo', { endpoint: server.url }), { variant: 'fp16' });
    const { path } = await repo.loadWeights('vae');
    expect(path).toBe('vae/diffusion_pytorch_model.safetensors');
    const vaeRequests = server.requests.map((r) => r.path).filter((p) => p.includes('/resolve/main/vae/'));
    expect(vaeRequests).toEqual([
      '/stabilityai/sd-turbo/resolve/main/vae/diffusion_pytorch_model.fp16.safetensors',
      '/stabilityai/sd-turbo/resolve/main/vae/model.fp16.safetensors',
      '/stabilityai/sd-turbo/resolve/main/vae/diffusion_pytorch_model.safetensors',
    ]);
  });
});
