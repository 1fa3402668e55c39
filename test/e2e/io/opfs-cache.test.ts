import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadServer } from '../../helpers/download-server.js';
import { chromiumArgs, chromiumPath, startPageServer } from '../helpers/browser.js';
import { callPageModule, openModulePage } from '../helpers/page-module.js';

type OpfsPage = typeof import('../pages/opfs-cache-page.js');
type LoadResult = import('../pages/opfs-cache-page.js').LoadResult;

const call = <K extends keyof OpfsPage & string>(page: Page, name: K, ...args: Parameters<OpfsPage[K]>) =>
  callPageModule<OpfsPage, K>(page, 'opfsPage', name, ...(args as never));

const MiB = 1 << 20;

/** Bytes that differ along the file (not all zeros), quickly. */
function synthetic(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return bytes;
}

describe('browser e2e: the OPFS model cache (Chromium)', () => {
  let dl: DownloadServer;
  let server: ViteDevServer;
  let url: string;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  /** The model base URL for a folder on the download server (cross-origin, with CORS: a proxy would hide dropped connections). */
  const base = (folder: string) => `${dl.url}/${folder}/`;
  const getsOf = (path: string) => dl.requests.filter((r) => r.path === path && r.method === 'GET');

  beforeAll(async () => {
    dl = await DownloadServer.start({ cors: true });
    ({ server, url } = await startPageServer());
    // A real profile on disk: OPFS of an incognito context lives in memory.
    profile = await mkdtemp(join(tmpdir(), 'omni-opfs-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args: chromiumArgs, headless: true });
    ({ page, errors } = await openModulePage(context, `${url}/test/e2e/pages/opfs-cache.html`, 'opfsPage'));
    await call(page, 'clear');
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await dl?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('is the default store, and reports the persist() answer', async () => {
    expect(await call(page, 'isDefaultOpfs')).toBe(true);
    const persisted = await call(page, 'persisted');
    console.log(`navigator.storage.persist() answered ${String(persisted)}`);
    expect(typeof persisted).toBe('boolean');
  });

  it('loads 256 MiB through OPFS with the page heap far below the file size', async () => {
    const size = 256 * MiB;
    dl.put('/big/unet/w.safetensors', synthetic(size, 1));
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const before = ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
    let peak = before;
    let done = false;
    const loading = call(page, 'load', base('big'), 'unet/w.safetensors').finally(() => (done = true));
    while (!done) {
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
      peak = Math.max(peak, usedSize);
      await new Promise((r) => setTimeout(r, 100));
    }
    const first = await loading;
    const again = await call(page, 'load', base('big'), 'unet/w.safetensors');
    const mb = (n: number) => (n / MiB).toFixed(1);
    console.log(
      `OPFS load of ${mb(size)} MiB: ${first.ms.toFixed(0)} ms from the network (${((size / MiB / first.ms) * 1000).toFixed(0)} MiB/s, SHA-256 checked), ` +
        `${again.ms.toFixed(0)} ms from OPFS; page JS heap ${mb(before)} MiB before, peak ${mb(peak)} MiB during (${((peak / size) * 100).toFixed(1)}% of the file)`,
    );
    expect(first).toMatchObject({ errorName: null, bytes: size, origin: 'network' });
    expect(again).toMatchObject({ errorName: null, bytes: size, origin: 'cache' });
    expect(getsOf('/big/unet/w.safetensors')).toHaveLength(1);
    expect(peak).toBeLessThan(size / 4);
    await cdp.detach();
  });

  it('resumes an interrupted download with Range, fetching about the remainder', async () => {
    const size = 8 * MiB;
    const path = '/resume/w.bin';
    dl.put(path, synthetic(size, 2), { dropAfter: 3 * MiB });
    const broken = await call(page, 'load', base('resume'), 'w.bin');
    expect(broken.errorName).toBe('ModelSourceError');
    const stored = (await call(page, 'list')).find((m) => m.id === base('resume'))!.files[0]!;
    expect(stored).toMatchObject({ path: 'w.bin', complete: false });
    dl.behave(path, {});
    const resumed = await call(page, 'load', base('resume'), 'w.bin');
    expect(resumed).toMatchObject({ errorName: null, bytes: size, resumedBytes: stored.bytes });
    const [firstGet, secondGet] = getsOf(path);
    console.log(`OPFS resume: 1st GET sent ${firstGet!.bytesSent} bytes, ${stored.bytes} stored; 2nd GET (${secondGet!.range}) sent ${secondGet!.bytesSent} of ${size}`);
    expect(secondGet!.range).toBe(`bytes=${stored.bytes}-`);
    expect(secondGet!.bytesSent).toBe(size - stored.bytes);
    expect(stored.bytes).toBeGreaterThan(1 * MiB);
  });

  it('rejects a corrupt body (SHA-256 mismatch with X-Linked-ETag) and caches nothing', async () => {
    const path = '/corrupt/w.bin';
    dl.put(path, synthetic(2 * MiB, 3), { corrupt: true });
    const bad = await call(page, 'load', base('corrupt'), 'w.bin');
    expect(bad.errorName).toBe('CorruptDownloadError');
    expect(bad.error).toMatch(/SHA-256/);
    const model = (await call(page, 'list')).find((m) => m.id === base('corrupt'));
    expect(model?.files ?? []).toEqual([]);
    dl.behave(path, {});
    expect(await call(page, 'load', base('corrupt'), 'w.bin')).toMatchObject({ errorName: null, origin: 'network', resumedBytes: 0 });
  });

  it('fails with StorageQuotaError (needed, available) on a full quota, keeping the partial bytes', async () => {
    const size = 6 * MiB;
    const path = '/quota/w.bin';
    dl.put(path, synthetic(size, 4), { dropAfter: 3 * MiB });
    expect((await call(page, 'load', base('quota'), 'w.bin')).errorName).toBe('ModelSourceError');
    const partial = (await call(page, 'list')).find((m) => m.id === base('quota'))!.files[0]!;
    expect(partial.bytes).toBeGreaterThan(0);
    dl.behave(path, {});
    await call(page, 'stubQuota', 10_000_000_000, 10_000_000_000 - 1000);
    let full: LoadResult;
    try {
      full = await call(page, 'load', base('quota'), 'w.bin');
    } finally {
      await call(page, 'unstubQuota');
    }
    expect(full).toMatchObject({ errorName: 'StorageQuotaError', needed: size - partial.bytes, available: 1000 });
    console.log(`quota: ${full.error}`);
    const kept = (await call(page, 'list')).find((m) => m.id === base('quota'))!.files[0]!;
    expect(kept).toEqual(partial);
    expect(await call(page, 'load', base('quota'), 'w.bin')).toMatchObject({ errorName: null, bytes: size, resumedBytes: partial.bytes });
  });

  it('downloads a file once for two concurrent loads in one page, and in two pages', async () => {
    dl.put('/two/w.bin', synthetic(8 * MiB, 5), { chunkDelayMs: 2 });
    const both = await call(page, 'loadConcurrently', base('two'), 'w.bin', 2);
    expect(both.map((r) => [r.errorName, r.bytes])).toEqual([
      [null, 8 * MiB],
      [null, 8 * MiB],
    ]);
    expect(both.map((r) => r.origin).sort()).toEqual(['cache', 'network']);
    expect(getsOf('/two/w.bin')).toHaveLength(1);

    dl.put('/tabs/w.bin', synthetic(8 * MiB, 6), { chunkDelayMs: 2 });
    const other = await openModulePage(context, `${url}/test/e2e/pages/opfs-cache.html`, 'opfsPage');
    const tabs = await Promise.all([call(page, 'load', base('tabs'), 'w.bin'), call(other.page, 'load', base('tabs'), 'w.bin')]);
    expect(tabs.map((r) => [r.errorName, r.bytes])).toEqual([
      [null, 8 * MiB],
      [null, 8 * MiB],
    ]);
    expect(getsOf('/tabs/w.bin')).toHaveLength(1);
    expect(other.errors).toEqual([]);
    await other.page.close();
  });

  it('writes through sync access handles in a worker, and resumes there', async () => {
    const size = 8 * MiB;
    const path = '/worker/w.bin';
    dl.put(path, synthetic(size, 7), { dropAfter: 2 * MiB });
    const broken = (await call(page, 'inWorker', 'load', base('worker'), 'w.bin')) as LoadResult;
    expect(broken.errorName).toBe('ModelSourceError');
    dl.behave(path, {});
    const resumed = (await call(page, 'inWorker', 'load', base('worker'), 'w.bin')) as LoadResult;
    expect(resumed).toMatchObject({ errorName: null, bytes: size });
    expect(resumed.resumedBytes).toBeGreaterThan(0);
    expect(getsOf(path)[1]!.bytesSent).toBe(size - resumed.resumedBytes);
    // Read back in the page: the worker's bytes are the file.
    expect(await call(page, 'load', base('worker'), 'w.bin')).toMatchObject({ errorName: null, bytes: size, origin: 'cache' });
  });

  it('lists, deletes and clears models', async () => {
    const models = await call(page, 'list');
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([base('big'), base('resume'), base('quota'), base('two')]));
    const big = models.find((m) => m.id === base('big'))!;
    expect(big).toMatchObject({ bytes: 256 * MiB, files: [{ path: 'unet/w.safetensors', bytes: 256 * MiB, complete: true }] });
    expect(big.lastUsed).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect(await call(page, 'deleteModel', base('big'))).toEqual([base('big')]);
    expect((await call(page, 'list')).map((m) => m.id)).not.toContain(base('big'));
    expect(await call(page, 'load', base('resume'), 'w.bin')).toMatchObject({ origin: 'cache' });
    await call(page, 'clear');
    expect(await call(page, 'list')).toEqual([]);
    expect(await call(page, 'opfsEntries')).toEqual([]);
    // The dropped connections of the resume tests are logged by Chromium; nothing else may be.
    expect(errors.filter((e) => !e.includes('net::ERR_CONTENT_LENGTH_MISMATCH'))).toEqual([]);
  });
});
