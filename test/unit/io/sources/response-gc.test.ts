import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { CachedModelSource, type CacheWriteOptions, type CacheWriter } from '../../../../src/io/cache.js';
import { NodeFolderCache } from '../../../../src/io/cache-node.js';
import { CacheStorageCache } from '../../../../src/io/cache-storage.js';
import { HubSource } from '../../../../src/io/sources/hub-source.js';
import { UrlSource } from '../../../../src/io/sources/url-source.js';
import { startLoopbackServer, type LoopbackServer } from '../loopback-server.js';

/**
 * Node's `fetch` (undici) cancels the body of a `Response` that is garbage collected while its
 * body is neither locked nor read. A source that hands out `response.body` and drops the
 * `Response` loses the file whenever a collection runs before its reader attaches: a cached
 * download awaits the cache's writer first, and got "0 bytes arrived" from a server that
 * streams its files (`createReadStream(file).pipe(res)`, as static servers do).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage and lets the FinalizationRegistry callbacks (a later task) run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const COMMIT = 'c'.repeat(40);
let server: LoopbackServer;
let dir: string;
/** Larger than the socket buffers, so the body is still on its way when the collection runs. */
const data = randomBytes(3 << 20);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'omni-response-gc-'));
  writeFileSync(join(dir, 'merges.txt'), data);
  // The loopback server streams every file with createReadStream(file).pipe(res).
  server = await startLoopbackServer((path) => (path.endsWith('/merges.txt') ? join(dir, 'merges.txt') : null));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A cache whose writer comes after a collection, as one may run during its file system calls. */
class CollectingCache extends NodeFolderCache {
  override async createWriter(key: string, size: number | null, options?: CacheWriteOptions): Promise<CacheWriter> {
    await collect();
    return super.createWriter(key, size, options);
  }
}

describe('a response body handed out before it is read survives a garbage collection', () => {
  it('UrlSource.fetchFile', async () => {
    const file = await new UrlSource(`${server.url}/m`).fetchFile('tokenizer/merges.txt');
    await collect();
    expect(Buffer.from(await readAllBytes(file.stream)).equals(data)).toBe(true);
  });

  it('UrlSource.fetchRange', async () => {
    const response = await new UrlSource(`${server.url}/m`).fetchRange('tokenizer/merges.txt', { start: 0 });
    await collect();
    expect(Buffer.from(await readAllBytes(response.stream)).equals(data)).toBe(true);
  });

  it('a cached Hub download, whose writer is created before the body is read', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'omni-response-gc-cache-'));
    try {
      const hub = new HubSource('stabilityai/sdxl-turbo', { endpoint: server.url, revision: COMMIT });
      const source = new CachedModelSource(hub, new CollectingCache(cacheDir));
      const file = await source.fetchFile('tokenizer/merges.txt');
      expect(Buffer.from(await readAllBytes(file.stream)).equals(data)).toBe(true);
      // Committed: served from the cache with no request.
      const before = server.requests.length;
      const again = await source.fetchFile('tokenizer/merges.txt');
      expect(Buffer.from(await readAllBytes(again.stream)).equals(data)).toBe(true);
      expect(server.requests.length).toBe(before);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('CacheStorageCache.get (Node Response objects, as a CacheStorage polyfill or a test fake gives)', async () => {
    const entries = new Map<string, Response>();
    const storage = {
      open: async () => ({
        match: async (request: string) => entries.get(request)?.clone(),
        put: async (request: string, response: Response) => void entries.set(request, new Response(await response.arrayBuffer(), { headers: response.headers })),
        delete: async (request: string) => entries.delete(request),
      }),
    } as unknown as CacheStorage;
    const cache = new CacheStorageCache('test', storage);
    const writer = await cache.createWriter('m/merges.txt', data.byteLength);
    await writer.write(data);
    await writer.commit();
    const hit = await cache.get('m/merges.txt');
    await collect();
    expect(Buffer.from(await readAllBytes(hit!.stream)).equals(data)).toBe(true);
  });
});
