import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllBytes, type ByteProgress } from '../../../../src/io/byte-source.js';
import { CachedModelSource } from '../../../../src/io/cache.js';
import { NodeFolderCache } from '../../../../src/io/cache-node.js';
import { CorruptDownloadError, ModelFileNotFoundError } from '../../../../src/io/errors.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { HubSource } from '../../../../src/io/sources/hub-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { UrlSource } from '../../../../src/io/sources/url-source.js';
import { DownloadServer } from '../../../helpers/download-server.js';

let server: DownloadServer;
const bytes = new Uint8Array(randomBytes(300_000));
const dir = mkdtempSync(join(tmpdir(), 'omni-stat-'));

beforeAll(async () => {
  server = await DownloadServer.start();
  server.put('/m/a/w.bin', bytes);
  server.put('/plain/w.bin', bytes, { linked: false });
  server.put('/owner/name/resolve/v1/w.bin', bytes);
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ModelSource.stat', () => {
  it('UrlSource: a HEAD gives the size and, from X-Linked-ETag, the SHA-256; nothing is downloaded', async () => {
    const source = new UrlSource(`${server.url}/m`);
    expect(await source.stat('a/w.bin')).toEqual({ size: bytes.byteLength, sha256: server.sha256('/m/a/w.bin') });
    expect(server.requests.at(-1)).toMatchObject({ method: 'HEAD', bytesSent: 0 });
    expect(await new UrlSource(`${server.url}/plain`).stat('w.bin')).toEqual({ size: bytes.byteLength });
    await expect(source.stat('nope.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
  });

  it("HubSource: reads size and SHA-256 from the Hub's redirect, before the CDN, and checks the download against them", async () => {
    const sha = 'ab'.repeat(32);
    const seen: string[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      seen.push(`${init?.method ?? 'GET'} ${init?.redirect ?? ''}`);
      if (init?.method === 'HEAD') {
        return new Response(null, { status: 302, headers: { location: 'https://cdn.example/x', 'x-linked-size': '5', 'x-linked-etag': `"${sha}"`, etag: `"${sha}"` } });
      }
      // The CDN's answer carries neither header; its body is not the file the Hub stated.
      return new Response(new Uint8Array([1, 2, 3, 4, 5]), { status: 200, headers: { 'content-length': '5', etag: '"cdn"' } });
    };
    const hub = new HubSource('owner/name', { endpoint: 'https://hub.example', revision: 'v1', fetch: fakeFetch });
    expect(await hub.stat('unet/w.safetensors')).toEqual({ size: 5, sha256: sha });
    expect(seen).toEqual(['HEAD manual']);
    const cached = new CachedModelSource(hub, new NodeFolderCache(join(dir, 'hub')));
    expect(cached.keyOf('unet/w.safetensors')).toBe('hf/hub.example/owner/name@v1/unet/w.safetensors');
    const err = await readAllBytes((await cached.fetchFile('unet/w.safetensors')).stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDownloadError);
    expect(err).toMatchObject({ expectedSha256: sha, actualSize: 5 });
    // The load's `resolve` stat and the download's check share one HEAD.
    expect(seen.filter((r) => r.startsWith('HEAD'))).toEqual(['HEAD manual']);
  });

  it('HubSource against a loopback Hub: stat and a verified download', async () => {
    const hub = new HubSource('owner/name', { endpoint: server.url, revision: 'v1' });
    expect(await hub.stat('w.bin')).toEqual({ size: bytes.byteLength, sha256: server.sha256('/owner/name/resolve/v1/w.bin') });
    const cached = new CachedModelSource(hub, new NodeFolderCache(join(dir, 'hub2')));
    expect(Buffer.from(await readAllBytes((await cached.fetchFile('w.bin')).stream)).equals(bytes)).toBe(true);
  });

  it('LocalFolderSource and BlobSource: the size from fs.stat and Blob.size, bytes tagged local', async () => {
    mkdirSync(join(dir, 'local', 'unet'), { recursive: true });
    writeFileSync(join(dir, 'local', 'unet', 'w.bin'), bytes);
    const local = new LocalFolderSource(join(dir, 'local'));
    expect(await local.stat('unet/w.bin')).toEqual({ size: bytes.byteLength });
    await expect(local.stat('unet/none.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
    const events: ByteProgress[] = [];
    await readAllBytes((await local.fetchFile('unet/w.bin', { onProgress: (p) => events.push(p) })).stream);
    expect(events.at(-1)!.origin).toBe('local');
    const blobs = new BlobSource({ 'x.bin': new Blob([bytes.subarray(0, 10)]) });
    expect(await blobs.stat('x.bin')).toEqual({ size: 10 });
    await expect(blobs.stat('y.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
  });

  it('CachedModelSource: the inner stat on a miss, the stored size on a hit', async () => {
    const cached = new CachedModelSource(new UrlSource(`${server.url}/m`), new NodeFolderCache(join(dir, 'c')));
    expect(await cached.stat('a/w.bin')).toEqual({ size: bytes.byteLength, sha256: server.sha256('/m/a/w.bin') });
    await readAllBytes((await cached.fetchFile('a/w.bin')).stream);
    const before = server.requests.length;
    expect(await cached.stat('a/w.bin')).toEqual({ size: bytes.byteLength });
    expect(server.requests.length).toBe(before);
  });
});
