import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../src/io/byte-source.js';
import { CachedModelSource, type ModelCache } from '../../../src/io/cache.js';
import { clearModelCache, deleteCachedModel, listCachedModels, matchesModel } from '../../../src/io/cache-manage.js';
import { NodeFolderCache } from '../../../src/io/cache-node.js';
import { CacheError } from '../../../src/io/errors.js';
import { HubSource } from '../../../src/io/sources/hub-source.js';
import { UrlSource } from '../../../src/io/sources/url-source.js';
import { DownloadServer } from '../../helpers/download-server.js';

let server: DownloadServer;
const dirs: string[] = [];
const a = new Uint8Array(randomBytes(100_000));
const b = new Uint8Array(randomBytes(50_000));

beforeAll(async () => {
  server = await DownloadServer.start();
  for (const rev of ['main', 'v2']) {
    server.put(`/owner/model/resolve/${rev}/unet/w.bin`, a);
    server.put(`/owner/model/resolve/${rev}/model_index.json`, b);
  }
  server.put('/plain/x.bin', a);
  server.put('/plain/cut.bin', b, { dropAfter: 20_000 });
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A cache folder holding owner/model at two revisions, a plain URL model, and one partial file. */
export async function populatedCache(url: string): Promise<{ dir: string; cache: NodeFolderCache }> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-manage-'));
  dirs.push(dir);
  const cache = new NodeFolderCache(dir);
  for (const revision of ['main', 'v2']) {
    const hub = new CachedModelSource(new HubSource('owner/model', { endpoint: url, revision }), cache);
    for (const f of ['unet/w.bin', 'model_index.json']) await readAllBytes((await hub.fetchFile(f)).stream);
  }
  const plain = new CachedModelSource(new UrlSource(`${url}/plain`), cache);
  await readAllBytes((await plain.fetchFile('x.bin')).stream);
  await readAllBytes((await plain.fetchFile('cut.bin')).stream).catch(() => undefined);
  return { dir, cache };
}

describe('cache management', () => {
  it('lists each model with its files, bytes (partial included) and last use', async () => {
    const { cache } = await populatedCache(server.url);
    const host = new URL(server.url).host;
    const models = await listCachedModels({ cache });
    expect(models.map((m) => m.id).sort()).toEqual([`${server.url}/plain/`, `hf/${host}/owner/model@main`, `hf/${host}/owner/model@v2`].sort());
    const main = models.find((m) => m.id.endsWith('@main'))!;
    expect(main.files).toEqual([
      { path: 'model_index.json', bytes: b.byteLength, complete: true },
      { path: 'unet/w.bin', bytes: a.byteLength, complete: true },
    ]);
    expect(main.bytes).toBe(a.byteLength + b.byteLength);
    expect(main.lastUsed).toBeInstanceOf(Date);
    expect(Date.now() - main.lastUsed!.getTime()).toBeLessThan(60_000);
    const plain = models.find((m) => m.id.endsWith('/plain/'))!;
    const cut = plain.files.find((f) => f.path === 'cut.bin')!;
    expect(cut.complete).toBe(false);
    // What arrived before the cut (the client may see the reset before any byte).
    expect(cut.bytes).toBeLessThanOrEqual(20_000);
    expect(plain.bytes).toBe(a.byteLength + cut.bytes);
  });

  it('deletes by Hub repo id (every revision) or by exact id, and clears everything else', async () => {
    const { dir, cache } = await populatedCache(server.url);
    const host = new URL(server.url).host;
    expect(await deleteCachedModel('owner/model@v2', { cache })).toEqual([`hf/${host}/owner/model@v2`]);
    expect((await listCachedModels({ cache })).length).toBe(2);
    expect(await deleteCachedModel('owner/model', { cache })).toEqual([`hf/${host}/owner/model@main`]);
    expect(await deleteCachedModel('owner/model', { cache })).toEqual([]);
    // The deleted model is downloaded again on the next load.
    const hub = new CachedModelSource(new HubSource('owner/model', { endpoint: server.url }), cache);
    const before = server.sent('/owner/model/resolve/main/unet/w.bin').length;
    await readAllBytes((await hub.fetchFile('unet/w.bin')).stream);
    expect(server.sent('/owner/model/resolve/main/unet/w.bin').length).toBe(before + 1);
    writeFileSync(join(dir, 'not-ours.txt'), 'keep me');
    await clearModelCache({ cache });
    expect(await listCachedModels({ cache })).toEqual([]);
    // Only the cache's own models go: a stranger's file in the folder stays.
    expect(readdirSync(dir)).toEqual(['not-ours.txt']);
  });

  it('matches ids by Hub repo id and revision only', () => {
    expect(matchesModel('hf/huggingface.co/a/b@main', 'a/b')).toBe(true);
    expect(matchesModel('hf/huggingface.co/a/b@main', 'a/b@main')).toBe(true);
    expect(matchesModel('hf/huggingface.co/a/b@main', 'a/b@v1')).toBe(false);
    expect(matchesModel('hf/huggingface.co/a/bc@main', 'a/b')).toBe(false);
    expect(matchesModel('http://x/m/', 'http://x/m/')).toBe(true);
  });

  it('refuses a store without listing with a CacheError naming it', async () => {
    const bare: ModelCache = { get: async () => null, createWriter: () => Promise.reject(new Error('unused')), delete: async () => undefined };
    await expect(listCachedModels({ cache: bare })).rejects.toBeInstanceOf(CacheError);
    await expect(clearModelCache({ cache: bare })).rejects.toThrow(/cannot be cleared/);
  });
});

/** An in-memory Cache Storage with keys(), enough for the management calls. */
function fakeCacheStorage(): CacheStorage {
  const entries = new Map<string, Response>();
  const urlOf = (r: RequestInfo | URL) => (typeof r === 'string' ? r : r instanceof URL ? r.href : r.url);
  const cache = {
    match: async (r: RequestInfo) => entries.get(urlOf(r))?.clone(),
    keys: async () => [...entries.keys()].map((u) => new Request(u)),
    delete: async (r: RequestInfo) => entries.delete(urlOf(r)),
    async put(r: RequestInfo, response: Response) {
      entries.set(urlOf(r), new Response(await response.arrayBuffer(), { headers: response.headers }));
    },
  };
  return { open: async () => cache } as unknown as CacheStorage;
}

describe('cache management on Cache Storage (the browser fallback store)', () => {
  it('lists, deletes and clears by model', async () => {
    const { CacheStorageCache } = await import('../../../src/io/cache-storage.js');
    const cache = new CacheStorageCache('test', fakeCacheStorage());
    for (const revision of ['main', 'v2']) {
      const hub = new CachedModelSource(new HubSource('owner/model', { endpoint: server.url, revision }), cache);
      for (const f of ['unet/w.bin', 'model_index.json']) await readAllBytes((await hub.fetchFile(f)).stream);
    }
    const host = new URL(server.url).host;
    const models = await listCachedModels({ cache });
    expect(models.map((m) => m.id).sort()).toEqual([`hf/${host}/owner/model@main`, `hf/${host}/owner/model@v2`]);
    expect(models[0]!.files.map((f) => f.path).sort()).toEqual(['model_index.json', 'unet/w.bin']);
    expect(models[0]!.bytes).toBe(a.byteLength + b.byteLength);
    expect(models[0]!.lastUsed).toBeInstanceOf(Date);
    expect(await deleteCachedModel('owner/model@main', { cache })).toEqual([`hf/${host}/owner/model@main`]);
    expect((await listCachedModels({ cache })).map((m) => m.id)).toEqual([`hf/${host}/owner/model@v2`]);
    await clearModelCache({ cache });
    expect(await listCachedModels({ cache })).toEqual([]);
  });
});
