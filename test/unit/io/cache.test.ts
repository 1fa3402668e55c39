import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readAllBytes, type ByteStream } from '../../../src/io/byte-source.js';
import { CachedModelSource, type CacheWriter, type ModelCache } from '../../../src/io/cache.js';
import { defaultCacheDir, NodeFolderCache } from '../../../src/io/cache-node.js';
import { CacheStorageCache } from '../../../src/io/cache-storage.js';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { CacheQuotaError } from '../../../src/io/errors.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import type { ModelSource } from '../../../src/io/sources/model-source.js';
import { UrlSource } from '../../../src/io/sources/url-source.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { chunkedStream } from './build-safetensors.js';
import { startLoopbackServer, type LoopbackServer } from './loopback-server.js';

let server: LoopbackServer;
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omni-cache-'));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  server = await startLoopbackServer((path) => (path.startsWith('/sd15/') ? fixturePath('pipeline-sd15-tiny', path.slice('/sd15/'.length)) : null));
});
afterAll(async () => {
  await server.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Everything a pipeline load reads: index, configs, tokenizer and all weights. */
async function loadEverything(source: CachedModelSource): Promise<number> {
  const repo = await DiffusersRepo.open(source);
  let tensors = 0;
  for (const name of ['unet', 'vae', 'text_encoder']) {
    await repo.readConfig(name);
    tensors += (await repo.loadWeights(name)).tensors.size;
  }
  await repo.readConfig('scheduler');
  await repo.readTokenizerFiles();
  return tensors;
}

/** An in-memory stand-in for the browser's CacheStorage; `failPut` makes put() fail like a full quota. */
function fakeCacheStorage(failPut = false): CacheStorage {
  const entries = new Map<string, Response>();
  const cache = {
    async match(request: string) {
      return entries.get(request)?.clone();
    },
    async put(request: string, response: Response) {
      const reader = response.body!.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        if (failPut) {
          await reader.cancel();
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        }
      }
      entries.set(request, new Response(new Blob(chunks.map((c) => c.slice())), { headers: response.headers }));
    },
    async delete(request: string) {
      return entries.delete(request);
    },
  };
  return { open: async () => cache } as unknown as CacheStorage;
}

describe('CachedModelSource', () => {
  it('loads a model a second time from the Node cache folder without any request', async () => {
    const cache = new NodeFolderCache(tempDir());
    const first = new CachedModelSource(new UrlSource(`${server.url}/sd15`), cache);
    const before = server.requests.length;
    const count = await loadEverything(first);
    expect(server.requests.length).toBeGreaterThan(before);
    const afterFirst = server.requests.length;
    const second = new CachedModelSource(new UrlSource(`${server.url}/sd15`), cache);
    expect(await loadEverything(second)).toBe(count);
    expect(server.requests.length).toBe(afterFirst);
  });

  it('loads a model a second time from Cache Storage without any request', async () => {
    const cache = new CacheStorageCache('test', fakeCacheStorage());
    const before = server.requests.length;
    await loadEverything(new CachedModelSource(new UrlSource(`${server.url}/sd15`), cache));
    const afterFirst = server.requests.length;
    expect(afterFirst).toBeGreaterThan(before);
    await loadEverything(new CachedModelSource(new UrlSource(`${server.url}/sd15`), cache));
    expect(server.requests.slice(afterFirst)).toEqual([]);
  });

  it('caches a file of unknown size that the safetensors reader read to its last tensor', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('vae-decoder-tiny', 'model.safetensors')));
    const inner: ModelSource = {
      id: 'sizeless',
      fetchFile: async () => ({ stream: chunkedStream(bytes, 4099), size: null }),
      readText: () => Promise.reject(new Error('unused')),
    };
    const cache = new NodeFolderCache(tempDir());
    const source = new CachedModelSource(inner, cache);
    const tensors = await readSafetensors(await source.fetchFile('vae.safetensors'));
    expect(tensors.size).toBeGreaterThan(0);
    const hit = await cache.get(source.keyOf('vae.safetensors'));
    expect(hit?.size).toBe(bytes.byteLength);
  });

  it('stores nothing as complete of a download cancelled half way, keeping its bytes only as a resumable partial', async () => {
    const dir = tempDir();
    const cache = new NodeFolderCache(dir);
    const source = new CachedModelSource(new UrlSource(`${server.url}/sd15`), cache);
    const file = await source.fetchFile('unet/diffusion_pytorch_model.safetensors');
    const reader = file.stream.getReader();
    await reader.read();
    await reader.cancel();
    expect(await cache.get(source.keyOf('unet/diffusion_pytorch_model.safetensors'))).toBeNull();
    const leftovers = readdirSync(dir, { recursive: true }).map(String);
    expect(leftovers.filter((p) => p.includes('.partial-') || p.endsWith('%lock'))).toEqual([]);
    expect(leftovers.filter((p) => p.endsWith('diffusion_pytorch_model.safetensors%partial'))).toHaveLength(1);
  });

  it('fails the read with CacheQuotaError when Cache Storage is out of quota', async () => {
    const source = new CachedModelSource(new UrlSource(`${server.url}/sd15`), new CacheStorageCache('test', fakeCacheStorage(true)));
    const file = await source.fetchFile('vae/diffusion_pytorch_model.safetensors');
    const err = await readAllBytes(file.stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheQuotaError);
    expect((err as CacheQuotaError).name).toBe('CacheQuotaError');
    expect((err as CacheQuotaError).key).toContain('vae/diffusion_pytorch_model.safetensors');
    expect((err as Error).message).toMatch(/quota/);
  });

  it('passes a cache writer failure on to the reader instead of swallowing it', async () => {
    const failing: ModelCache = {
      get: async (): Promise<ByteStream | null> => null,
      createWriter: async (key): Promise<CacheWriter> => ({
        write: () => Promise.reject(new CacheQuotaError(key, 'disk full')),
        commit: () => Promise.resolve(),
        abort: () => Promise.resolve(),
      }),
      delete: () => Promise.resolve(),
    };
    const source = new CachedModelSource(new UrlSource(`${server.url}/sd15`), failing);
    await expect(source.readText('model_index.json')).rejects.toBeInstanceOf(CacheQuotaError);
  });
});

describe('NodeFolderCache', () => {
  it('defaults to $OMNI_DIFFUSION_CACHE', async () => {
    vi.stubEnv('OMNI_DIFFUSION_CACHE', '/tmp/omni-test-cache');
    try {
      expect(await defaultCacheDir()).toBe('/tmp/omni-test-cache');
      expect(await new NodeFolderCache().pathOf('hf/a/b@main/unet/x.json')).toBe('/tmp/omni-test-cache/hf/a/b%40main/unet/x.json');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('keeps "." and ".." key parts inside the cache folder', async () => {
    const cache = new NodeFolderCache('/c');
    expect(await cache.pathOf('a/../b/./c')).toBe('/c/a/%2E%2E/b/%2E/c');
  });
});
