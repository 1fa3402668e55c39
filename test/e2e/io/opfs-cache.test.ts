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

/**
 * The JS heap of the page's dedicated worker whose script URL contains `script`, read over CDP: the page's session auto-attaches to
 * it, and `Runtime.getHeapUsage` goes to it through `Target.sendMessageToTarget`.
 */
async function workerHeap(page: Page, script: string): Promise<{ used(): Promise<number>; close(): Promise<void> }> {
  const cdp = await page.context().newCDPSession(page);
  const attached = new Promise<string>((resolve) =>
    cdp.on('Target.attachedToTarget', (e: { sessionId: string; targetInfo: { type: string; url: string } }) => {
      if (e.targetInfo.type === 'worker' && e.targetInfo.url.includes(script)) resolve(e.sessionId);
    }),
  );
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const sessionId = await attached;
  let nextId = 1;
  const waiting = new Map<number, (usage: number) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
    const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number } };
    if (m.id !== undefined && m.result) waiting.get(m.id)?.(m.result.usedSize);
  });
  return {
    used: () => {
      const id = nextId++;
      return new Promise<number>((resolve) => {
        waiting.set(id, resolve);
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
      });
    },
    close: () => cdp.detach(),
  };
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

  it('loads 256 MiB through OPFS in a worker (the engine\'s path) with the worker heap far below the file size', async () => {
    const size = 256 * MiB;
    dl.put('/big-worker/unet/w.safetensors', synthetic(size, 12));
    await call(page, 'inWorker', 'list');
    const heap = await workerHeap(page, 'opfs-cache-worker');
    const before = await heap.used();
    let peak = before;
    let done = false;
    const loading = (call(page, 'inWorker', 'load', base('big-worker'), 'unet/w.safetensors') as Promise<LoadResult>).finally(() => (done = true));
    while (!done) {
      peak = Math.max(peak, await heap.used());
      await new Promise((r) => setTimeout(r, 100));
    }
    const first = await loading;
    await heap.close();
    const mb = (n: number) => (n / MiB).toFixed(1);
    console.log(`OPFS load of ${mb(size)} MiB in a worker: ${first.ms.toFixed(0)} ms; worker JS heap ${mb(before)} MiB before, peak ${mb(peak)} MiB during (${((peak / size) * 100).toFixed(1)}% of the file)`);
    expect(first).toMatchObject({ errorName: null, bytes: size, origin: 'network' });
    expect(peak).toBeLessThan(size / 4);
  });

  it('resumes an interrupted download with Range, fetching about the remainder', async () => {
    const size = 8 * MiB;
    const path = '/resume/w.bin';
    // Paced: bytes a browser has received but not yet read when the connection drops are lost.
    dl.put(path, synthetic(size, 2), { dropAfter: 3 * MiB, chunkDelayMs: 2 });
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
    // How much arrives before the cut surfaces depends on timing; some always does.
    expect(stored.bytes).toBeGreaterThan(0);
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
    dl.put(path, synthetic(size, 4), { dropAfter: 3 * MiB, chunkDelayMs: 2 });
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
    dl.put(path, synthetic(size, 7), { dropAfter: 2 * MiB, chunkDelayMs: 2 });
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

  it.each([
    { how: 'a reload', where: 'worker', folder: 'reload' },
    { how: 'a closed tab', where: 'worker', folder: 'closed' },
    { how: 'a reload', where: 'page', folder: 'reload-page' },
    { how: 'a closed tab', where: 'page', folder: 'closed-page' },
  ])('resumes a download in the $where cut by $how, from the bytes its sync handle flushed', async ({ how, where, folder }) => {
    const size = 48 * MiB;
    const path = `/${folder}/w.bin`;
    dl.put(path, synthetic(size, 8), { chunkDelayMs: 4 });
    const tab = await openModulePage(context, `${url}/test/e2e/pages/opfs-cache.html`, 'opfsPage');
    // Never settles: the page goes away (with its workers: the page's own writes go through its writer worker).
    const loadIn = (p: Page) => (where === 'page' ? call(p, 'load', base(folder), 'w.bin') : call(p, 'inWorker', 'load', base(folder), 'w.bin')) as Promise<LoadResult>;
    void loadIn(tab.page).catch(() => undefined);
    const sent = () => getsOf(path)[0]?.bytesSent ?? 0;
    const deadline = Date.now() + 60_000;
    while (sent() < 24 * MiB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sent()).toBeGreaterThanOrEqual(24 * MiB);
    let next: Page;
    if (how === 'a reload') {
      await tab.page.reload();
      await tab.page.waitForFunction(() => (window as unknown as { opfsPageReady?: boolean }).opfsPageReady === true);
      next = tab.page;
    } else {
      await tab.page.close();
      next = (await openModulePage(context, `${url}/test/e2e/pages/opfs-cache.html`, 'opfsPage')).page;
    }
    const cutAt = sent();
    dl.behave(path, {});
    const resumed = await loadIn(next);
    const second = getsOf(path)[1]!;
    console.log(`OPFS resume (${where}) after ${how}: 1st GET sent ${cutAt} bytes, ${resumed.resumedBytes} kept; 2nd GET (${second.range}) sent ${second.bytesSent} of ${size}`);
    expect(resumed).toMatchObject({ errorName: null, bytes: size });
    // At least what was flushed (every 16 MiB) survives; what the worker wrote after may too.
    expect(resumed.resumedBytes).toBeGreaterThanOrEqual(16 * MiB);
    expect(resumed.resumedBytes).toBeLessThanOrEqual(cutAt);
    expect(second.range).toBe(`bytes=${resumed.resumedBytes}-`);
    expect(second.bytesSent).toBe(size - resumed.resumedBytes);
    if (next !== page) await next.close();
  });

  it.each(['page', 'worker'])('a real QuotaExceededError in the middle of a write (%s; quota cut through CDP) is a StorageQuotaError, and the bytes so far resume', async (where) => {
    const size = 32 * MiB;
    const folder = `realquota-${where}`;
    const path = `/${folder}/w.bin`;
    dl.put(path, synthetic(size, 11), { chunkDelayMs: 4 });
    const cdp = await context.newCDPSession(page);
    const origin = new URL(url).origin;
    const loading = (where === 'page' ? call(page, 'load', base(folder), 'w.bin') : call(page, 'inWorker', 'load', base(folder), 'w.bin')) as Promise<LoadResult>;
    const sent = () => getsOf(path)[0]?.bytesSent ?? 0;
    const deadline = Date.now() + 60_000;
    while (sent() < 8 * MiB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 2 * MiB });
    let full: LoadResult;
    try {
      full = await loading;
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      await cdp.detach();
    }
    console.log(`real quota (${where}): ${full.errorName}: ${full.error}`);
    expect(full.errorName).toBe('StorageQuotaError');
    const kept = (await call(page, 'list')).find((m) => m.id === base(folder))?.files[0];
    expect(kept).toMatchObject({ complete: false });
    expect(kept!.bytes).toBeGreaterThan(0);
    dl.behave(path, {});
    const resumed = (await (where === 'page' ? call(page, 'load', base(folder), 'w.bin') : call(page, 'inWorker', 'load', base(folder), 'w.bin'))) as LoadResult;
    expect(resumed).toMatchObject({ errorName: null, bytes: size, resumedBytes: kept!.bytes });
  });

  it('lists, deletes and clears models', async () => {
    const models = await call(page, 'list');
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([base('big'), base('resume'), base('quota'), base('two'), base('reload'), base('closed'), base('reload-page'), base('closed-page')]));
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

  it('falls back to Cache Storage where OPFS is missing: caches whole files, serves them again, lists and deletes them', async () => {
    const fallback = await openModulePage(context, `${url}/test/e2e/pages/opfs-cache.html`, 'opfsPage');
    const p = fallback.page;
    await call(p, 'hideOpfs');
    expect(await call(p, 'defaultStoreName')).toBe('CacheStorageCache');
    const size = 4 * MiB;
    const path = '/fallback/unet/w.bin';
    dl.put(path, synthetic(size, 9));
    expect(await call(p, 'loadDefault', base('fallback'), 'unet/w.bin')).toMatchObject({ errorName: null, bytes: size, origin: 'network' });
    expect(await call(p, 'loadDefault', base('fallback'), 'unet/w.bin')).toMatchObject({ errorName: null, bytes: size, origin: 'cache' });
    expect(getsOf(path)).toHaveLength(1);
    // A cut download is not stored (an entry is all or nothing): the next load starts over, cleanly.
    const cut = '/fallback/vae/w.bin';
    dl.put(cut, synthetic(size, 10), { dropAfter: MiB });
    expect((await call(p, 'loadDefault', base('fallback'), 'vae/w.bin')).errorName).toBe('ModelSourceError');
    dl.behave(cut, {});
    expect(await call(p, 'loadDefault', base('fallback'), 'vae/w.bin')).toMatchObject({ errorName: null, bytes: size, origin: 'network', resumedBytes: 0 });
    // (Chromium's own HTTP cache may complete its truncated entry with a Range request here; the model cache asks for none.)
    const listed = (await call(p, 'list')).find((m) => m.id === base('fallback'));
    expect(listed).toMatchObject({ bytes: 2 * size });
    expect(listed!.files.map((f) => f.path).sort()).toEqual(['unet/w.bin', 'vae/w.bin']);
    expect(await call(p, 'deleteModel', base('fallback'))).toEqual([base('fallback')]);
    expect((await call(p, 'list')).map((m) => m.id)).not.toContain(base('fallback'));
    expect(await call(p, 'loadDefault', base('fallback'), 'unet/w.bin')).toMatchObject({ origin: 'network' });
    await call(p, 'clear');
    expect(await call(p, 'list')).toEqual([]);
    expect(fallback.errors.filter((e) => !e.includes('net::ERR_CONTENT_LENGTH_MISMATCH'))).toEqual([]);
    await p.close();
  });
});
