import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../src/io/byte-source.js';
import { CachedModelSource } from '../../../src/io/cache.js';
import { deleteCachedModel, listCachedModels } from '../../../src/io/cache-manage.js';
import { NodeFolderCache } from '../../../src/io/cache-node.js';
import { ModelFileNotFoundError, ModelSourceError } from '../../../src/io/errors.js';
import { HubSource } from '../../../src/io/sources/hub-source.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const HOST = 'hub.example';

/**
 * An in-memory Hub: `refs` maps branches to commits, `files` commits to file contents. A HEAD
 * answers with `X-Repo-Commit` as the Hub does; `offline` makes every request a network failure.
 */
class FakeHub {
  refs: Record<string, string> = { main: A };
  files: Record<string, Record<string, string>> = {
    [A]: { 'model_index.json': '{"v":"A"}', 'unet/w.bin': 'weights of A' },
    [B]: { 'model_index.json': '{"v":"B"}', 'unet/w.bin': 'weights of B, longer' },
  };
  offline = false;
  status: number | null = null;
  log: string[] = [];

  fetch: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const url = new URL(String(input));
    this.log.push(`${method} ${url.pathname}`);
    if (this.offline) throw new TypeError('fetch failed');
    if (this.status !== null) return new Response(null, { status: this.status });
    const m = /^\/owner\/name\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const revision = decodeURIComponent(m?.[1] ?? '');
    const commit = this.refs[revision] ?? (this.files[revision] ? revision : undefined);
    const body = commit ? this.files[commit]?.[m![2]!] : undefined;
    if (!commit || body === undefined) return new Response(null, { status: 404 });
    const bytes = new TextEncoder().encode(body);
    const headers = { 'x-repo-commit': commit, 'content-length': String(bytes.byteLength), etag: `"${commit.slice(0, 8)}-${bytes.byteLength}"` };
    return new Response(method === 'HEAD' ? null : bytes, { status: 200, headers });
  };

  source(revision = 'main'): HubSource {
    return new HubSource('owner/name', { endpoint: `https://${HOST}`, revision, fetch: this.fetch });
  }
}

const dirs: string[] = [];
function newCache(): NodeFolderCache {
  const dir = mkdtempSync(join(tmpdir(), 'omni-hubrev-'));
  dirs.push(dir);
  return new NodeFolderCache(dir);
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function read(source: CachedModelSource, path: string): Promise<string> {
  return new TextDecoder().decode(await readAllBytes((await source.fetchFile(path)).stream));
}

describe('HubSource.resolveRevision', () => {
  it('reads X-Repo-Commit from one HEAD, and a 40-hex revision is its own commit with no request', async () => {
    const hub = new FakeHub();
    expect(await hub.source().resolveRevision()).toBe(A);
    expect(hub.log).toEqual(['HEAD /owner/name/resolve/main/model_index.json']);
    hub.log = [];
    const pinned = hub.source(B);
    expect(await pinned.resolveRevision()).toBe(B);
    expect(pinned.atRevision(B)).toBe(pinned);
    expect(hub.log).toEqual([]);
    expect(hub.source().atRevision(A).id).toBe(`hf/${HOST}/owner/name@${A}`);
    expect(() => hub.source().atRevision('not-a-commit')).toThrow(ModelSourceError);
  });

  it('the pinned source reuses the HEAD that resolved it: stat costs no second request', async () => {
    const hub = new FakeHub();
    const main = hub.source();
    const commit = await main.resolveRevision({ path: 'unet/w.bin' });
    expect(await main.atRevision(commit).stat!('unet/w.bin')).toEqual({ size: 12 });
    expect(hub.log).toEqual(['HEAD /owner/name/resolve/main/unet/w.bin']);
  });
});

describe('CachedModelSource over a Hub branch', () => {
  it("keys files by commit: a branch moving from A to B downloads B's files under a new key and never serves A's", async () => {
    const hub = new FakeHub();
    const cache = newCache();
    const first = new CachedModelSource(hub.source(), cache);
    expect(await read(first, 'unet/w.bin')).toBe('weights of A');
    expect(first.keyOf('unet/w.bin')).toBe(`hf/${HOST}/owner/name@${A}/unet/w.bin`);
    expect(first.id).toBe(`hf/${HOST}/owner/name@main`);
    // Files are fetched from the commit, not the branch.
    expect(hub.log).toContain(`GET /owner/name/resolve/${A}/unet/w.bin`);

    // Same commit: served from the cache after one HEAD.
    hub.log = [];
    expect(await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin')).toBe('weights of A');
    expect(hub.log).toEqual(['HEAD /owner/name/resolve/main/unet/w.bin']);

    hub.refs.main = B;
    hub.log = [];
    const second = new CachedModelSource(hub.source(), cache);
    expect(await read(second, 'unet/w.bin')).toBe('weights of B, longer');
    expect(second.keyOf('unet/w.bin')).toBe(`hf/${HOST}/owner/name@${B}/unet/w.bin`);
    expect(hub.log.some((l) => l.startsWith(`GET /owner/name/resolve/${B}/`))).toBe(true);
    const ids = (await listCachedModels({ cache })).map((m) => m.id).sort();
    expect(ids).toEqual([`hf/${HOST}/owner/name@${A}`, `hf/${HOST}/owner/name@${B}`]);
  });

  it('one CachedModelSource reads one commit even if the branch moves mid-load', async () => {
    const hub = new FakeHub();
    const source = new CachedModelSource(hub.source(), newCache());
    expect(await read(source, 'model_index.json')).toBe('{"v":"A"}');
    hub.refs.main = B;
    expect(await read(source, 'unet/w.bin')).toBe('weights of A');
  });

  it('a pinned commit makes no HEAD for the revision and stores no ref', async () => {
    const hub = new FakeHub();
    const cache = newCache();
    const source = new CachedModelSource(hub.source(B), cache);
    expect(await read(source, 'model_index.json')).toBe('{"v":"B"}');
    expect(hub.log).toEqual([`HEAD /owner/name/resolve/${B}/model_index.json`, `GET /owner/name/resolve/${B}/model_index.json`]);
    expect(await cache.get(source.refKey())).toBeNull();
  });

  it('offline with a stored ref loads from the cache (last known commit); offline without one fails typed', async () => {
    const hub = new FakeHub();
    const cache = newCache();
    await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin');
    hub.offline = true;
    hub.refs.main = B;
    hub.log = [];
    const offline = new CachedModelSource(hub.source(), cache);
    expect(await read(offline, 'unet/w.bin')).toBe('weights of A');
    expect(hub.log).toEqual(['HEAD /owner/name/resolve/main/unet/w.bin']);
    // A file of that commit never cached: the network error, as without a cache.
    await expect(read(offline, 'model_index.json')).rejects.toMatchObject({ name: 'ModelSourceError', status: null });

    const err = await read(new CachedModelSource(hub.source(), newCache()), 'unet/w.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect(err).toMatchObject({ status: null });
    expect((err as Error).message).toMatch(/fetch failed/);
  });

  it('a 5xx from the Hub also falls back to the stored ref', async () => {
    const hub = new FakeHub();
    const cache = newCache();
    await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin');
    hub.status = 503;
    expect(await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin')).toBe('weights of A');
  });

  it('a 404, 401 or 403 on the HEAD is the typed error, never a silent fallback to the ref', async () => {
    const hub = new FakeHub();
    const cache = newCache();
    await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin');
    hub.refs = {};
    await expect(read(new CachedModelSource(hub.source(), cache), 'unet/w.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
    for (const status of [401, 403]) {
      hub.status = status;
      const err = await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelSourceError);
      expect(err).toMatchObject({ status });
    }
  });

  it('a missing file fails its own read, and the next read still pins', async () => {
    const hub = new FakeHub();
    const source = new CachedModelSource(hub.source(), newCache());
    await expect(read(source, 'vae/none.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
    expect(await read(source, 'unet/w.bin')).toBe('weights of A');
    expect(source.keyOf('unet/w.bin')).toContain(`@${A}/`);
  });

  it('deleteCachedModel: owner/name matches every commit; owner/name@main the commit main named, and its ref', async () => {
    const hub = new FakeHub();
    const cache = newCache();
    await read(new CachedModelSource(hub.source(), cache), 'unet/w.bin');
    hub.refs.main = B;
    const latest = new CachedModelSource(hub.source(), cache);
    await read(latest, 'unet/w.bin');
    expect(await deleteCachedModel('owner/name@main', { cache })).toEqual([`hf/${HOST}/owner/name@${B}`]);
    expect(await cache.get(latest.refKey())).toBeNull();
    expect(await deleteCachedModel('owner/name@main', { cache })).toEqual([]);
    expect(await deleteCachedModel('owner/name', { cache })).toEqual([`hf/${HOST}/owner/name@${A}`]);
    expect(await listCachedModels({ cache })).toEqual([]);
  });
});
