import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/api/errors.js';
import { readAllBytes, type ByteProgress } from '../../../src/io/byte-source.js';
import { CachedModelSource } from '../../../src/io/cache.js';
import { NodeFolderCache } from '../../../src/io/cache-node.js';
import { CorruptDownloadError, ModelFileNotFoundError, ModelSourceError, StorageQuotaError } from '../../../src/io/errors.js';
import { UrlSource } from '../../../src/io/sources/url-source.js';
import { DownloadServer } from '../../helpers/download-server.js';

const SIZE = 2 << 20;
const FILE = 'unet/w.safetensors';
let server: DownloadServer;
let counter = 0;
const dirs: string[] = [];

beforeAll(async () => {
  server = await DownloadServer.start();
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh model on the server and a fresh cache folder: tests never share state. */
function setup(behaviour = {}) {
  const model = `/m${++counter}`;
  const bytes = new Uint8Array(randomBytes(SIZE));
  server.put(`${model}/${FILE}`, bytes, behaviour);
  const dir = mkdtempSync(join(tmpdir(), 'omni-dl-'));
  dirs.push(dir);
  const cache = new NodeFolderCache(dir);
  const source = () => new CachedModelSource(new UrlSource(`${server.url}${model}`), cache);
  return { model, bytes, dir, cache, source, path: `${model}/${FILE}` };
}

async function load(source: CachedModelSource, events: ByteProgress[] = [], signal?: AbortSignal): Promise<Uint8Array> {
  const file = await source.fetchFile(FILE, { onProgress: (p) => events.push(p), ...(signal ? { signal } : {}) });
  return readAllBytes(file.stream);
}

function partialBytes(dir: string, source: CachedModelSource): number {
  const key = source.keyOf(FILE).split('/').map((p) => encodeURIComponent(p) || '%00').join('/');
  const p = join(dir, `${key}%partial`);
  return existsSync(p) ? statSync(p).size : -1;
}

describe('resumable downloads (NodeFolderCache)', () => {
  it('downloads and verifies a file once, then serves it from the cache, tagging the progress origin', async () => {
    const t = setup();
    const first: ByteProgress[] = [];
    expect(Buffer.from(await load(t.source(), first)).equals(t.bytes)).toBe(true);
    expect(first.at(-1)).toMatchObject({ loaded: SIZE, total: SIZE, origin: 'network' });
    const second: ByteProgress[] = [];
    expect(Buffer.from(await load(t.source(), second)).equals(t.bytes)).toBe(true);
    expect(second.at(-1)).toMatchObject({ loaded: SIZE, total: SIZE, origin: 'cache' });
    expect(server.sent(t.path)).toEqual([SIZE]);
  });

  it('keeps the bytes of a download cut off mid-stream and resumes with Range from them', async () => {
    const t = setup({ dropAfter: 700_000 });
    const err = await load(t.source()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as Error).message).toMatch(/broke off at byte \d+ of 2097152.*resumes/);
    const kept = partialBytes(t.dir, t.source());
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(700_000);
    server.behave(t.path, {});
    const events: ByteProgress[] = [];
    expect(Buffer.from(await load(t.source(), events)).equals(t.bytes)).toBe(true);
    const last = server.requests.filter((r) => r.path === t.path).at(-1)!;
    expect(last.range).toBe(`bytes=${kept}-`);
    expect(last.ifRange).toMatch(/^"/);
    expect(last.status).toBe(206);
    const [firstSent, secondSent] = server.sent(t.path);
    // The second fetch moves only the remainder.
    expect(secondSent).toBe(SIZE - kept);
    expect(events.at(-1)).toMatchObject({ loaded: SIZE, total: SIZE, origin: 'network', resumedBytes: kept });
    console.log(`resume: first fetch sent ${firstSent} B, ${kept} B kept, second fetch ${secondSent} B of ${SIZE} (remainder ${SIZE - kept})`);
    expect(partialBytes(t.dir, t.source())).toBe(-1);
  });

  it('restarts cleanly from zero when the server ignores Range', async () => {
    const t = setup({ dropAfter: 500_000 });
    await load(t.source()).catch(() => undefined);
    expect(partialBytes(t.dir, t.source())).toBeGreaterThan(0);
    server.behave(t.path, { range: false });
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
    const last = server.requests.filter((r) => r.path === t.path).at(-1)!;
    expect(last.range).not.toBeNull();
    expect(last.status).toBe(200);
    expect(server.sent(t.path).at(-1)).toBe(SIZE);
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
  });

  it('restarts from zero when the file changed (If-Range does not match)', async () => {
    const t = setup({ dropAfter: 500_000 });
    await load(t.source()).catch(() => undefined);
    server.behave(t.path, { etag: '"another-version"' });
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
    expect(server.requests.filter((r) => r.path === t.path).at(-1)!.status).toBe(200);
  });

  it('rejects a corrupt body of the right length by its SHA-256, deletes it and never serves it', async () => {
    const t = setup({ corrupt: true });
    const err = await load(t.source()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDownloadError);
    const c = err as CorruptDownloadError;
    expect(c.code).toBe('DOWNLOAD_CORRUPT');
    expect(c.expectedSha256).toBe(server.sha256(t.path));
    expect(c.actualSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(c.actualSha256).not.toBe(c.expectedSha256);
    expect(c.message).toContain(FILE);
    expect(await t.cache.get(t.source().keyOf(FILE))).toBeNull();
    expect(partialBytes(t.dir, t.source())).toBe(-1);
    server.behave(t.path, {});
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
    expect(server.requests.filter((r) => r.path === t.path).at(-1)!.range).toBeNull();
  });

  it('rejects a body shorter than its stated size, and keeps a body cut short by a lying Content-Length for a resume', async () => {
    const t = setup({ lieLength: -10 });
    const short = await load(t.source()).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(CorruptDownloadError);
    expect(short).toMatchObject({ expectedSize: SIZE, actualSize: SIZE - 10 });
    expect(await t.cache.get(t.source().keyOf(FILE))).toBeNull();
    server.behave(t.path, { lieLength: 1000 });
    const cut = await load(t.source()).catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(ModelSourceError);
    expect(cut).not.toBeInstanceOf(CorruptDownloadError);
    expect(await t.cache.get(t.source().keyOf(FILE))).toBeNull();
  });

  it('maps 404, 403 and 500 to typed errors and stores nothing', async () => {
    const t = setup();
    await expect(t.source().fetchFile('missing.bin')).rejects.toBeInstanceOf(ModelFileNotFoundError);
    for (const status of [403, 500]) {
      server.behave(t.path, { status });
      const err = await t.source().fetchFile(FILE).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelSourceError);
      expect((err as ModelSourceError).status).toBe(status);
      if (status === 403) expect((err as Error).message).toMatch(/private or gated/);
    }
    expect(partialBytes(t.dir, t.source())).toBe(-1);
    // No lock left behind: a healthy load after the errors goes through at once.
    server.behave(t.path, {});
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
  });

  it('keeps the bytes of a slow download cancelled through its signal', async () => {
    const t = setup({ chunkDelayMs: 20 });
    const controller = new AbortController();
    const events: ByteProgress[] = [];
    const file = await t.source().fetchFile(FILE, { signal: controller.signal, onProgress: (p) => events.push(p) });
    const reader = file.stream.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    const err = await (async () => {
      for (;;) if ((await reader.read()).done) return null;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(partialBytes(t.dir, t.source())).toBeGreaterThan(0);
    server.behave(t.path, {});
    const resumed: ByteProgress[] = [];
    expect(Buffer.from(await load(t.source(), resumed)).equals(t.bytes)).toBe(true);
    expect(resumed.at(-1)!.resumedBytes).toBeGreaterThan(0);
  });

  it('fails a full disk with StorageQuotaError (bytes needed and available), keeps the bytes and resumes later', async () => {
    const t = setup();
    const limit = 1 << 20;
    class FullDisk extends NodeFolderCache {
      written = 0;
      protected override async writeChunk(handle: FileHandle, chunk: Uint8Array): Promise<void> {
        if (this.written + chunk.byteLength > limit) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        await super.writeChunk(handle, chunk);
        this.written += chunk.byteLength;
      }
    }
    const full = new FullDisk(t.dir);
    const inner = new UrlSource(`${server.url}${t.model}`);
    const err = await readAllBytes((await new CachedModelSource(inner, full).fetchFile(FILE)).stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageQuotaError);
    const q = err as StorageQuotaError;
    expect(q.code).toBe('STORAGE_QUOTA');
    expect(q.needed).toBe(SIZE - full.written);
    expect(typeof q.available).toBe('number');
    expect(q.message).toMatch(/disk is full.*more bytes needed.*available/);
    const kept = partialBytes(t.dir, t.source());
    expect(kept).toBe(full.written);
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
    expect(server.sent(t.path).at(-1)).toBe(SIZE - kept);
  });

  it('refuses a download that cannot fit before writing anything', async () => {
    const t = setup();
    const fs = await import('node:fs/promises');
    const free = await fs.statfs(t.dir);
    const huge = free.bavail * free.bsize * 2;
    const err = await t.cache.createWriter('x/y', huge, { model: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageQuotaError);
    expect(err).toMatchObject({ needed: huge, key: 'x/y' });
    expect((err as StorageQuotaError).available).toBeLessThan(huge);
    expect(existsSync(join(t.dir, 'x', 'y%partial'))).toBe(false);
  });

  it('downloads a file once when two loads of it run at once (two cache instances, as two processes)', async () => {
    const t = setup({ chunkDelayMs: 5 });
    const a = new CachedModelSource(new UrlSource(`${server.url}${t.model}`), new NodeFolderCache(t.dir));
    const b = new CachedModelSource(new UrlSource(`${server.url}${t.model}`), new NodeFolderCache(t.dir));
    const eventsA: ByteProgress[] = [];
    const eventsB: ByteProgress[] = [];
    const [x, y] = await Promise.all([load(a, eventsA), load(b, eventsB)]);
    expect(Buffer.from(x).equals(t.bytes)).toBe(true);
    expect(Buffer.from(y).equals(t.bytes)).toBe(true);
    expect(server.sent(t.path)).toEqual([SIZE]);
    // Whichever took the lock first downloaded; the other waited and read the stored file.
    expect([eventsA.at(-1)!.origin, eventsB.at(-1)!.origin].sort()).toEqual(['cache', 'network']);
  });

  it('takes over the lock a dead process left', async () => {
    const t = setup();
    const source = t.source();
    const key = source.keyOf(FILE).split('/').map((p) => encodeURIComponent(p) || '%00').join('/');
    const lockPath = join(t.dir, `${key}%lock`);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(lockPath, '..'), { recursive: true }));
    const os = await import('node:os');
    writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), token: 'dead' }));
    expect(Buffer.from(await load(source)).equals(t.bytes)).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
    expect(readFileSync(join(t.dir, key)).byteLength).toBe(SIZE);
  });

  it('takes over the lock of a load that stalled (its stream left unread), resuming from its bytes', async () => {
    const t = setup();
    const lock = { staleMs: 300, pollMs: 20 };
    const stalled = new CachedModelSource(new UrlSource(`${server.url}${t.model}`), new NodeFolderCache(t.dir, { lock }));
    const reader = (await stalled.fetchFile(FILE)).stream.getReader();
    await reader.read();
    const started = Date.now();
    const other = new CachedModelSource(new UrlSource(`${server.url}${t.model}`), new NodeFolderCache(t.dir, { lock }));
    const events: ByteProgress[] = [];
    expect(Buffer.from(await load(other, events)).equals(t.bytes)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(events.at(-1)!.resumedBytes).toBeGreaterThan(0);
    await reader.cancel();
    expect(Buffer.from(await load(t.source())).equals(t.bytes)).toBe(true);
  });
});
