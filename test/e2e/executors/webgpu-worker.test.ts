import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadProgress, LoadReadyEvent, LoadResolveEvent } from '../../../src/index.js';
import { openaiImagesResponder } from '../../helpers/fake-image-api.js';
import { FaultServer } from '../../helpers/fault-server.js';
import { fixtureUrlPath, launchChromium, startPageServer } from '../helpers/browser.js';
import { callPageModule, openModulePage } from '../helpers/page-module.js';

type EnginePage = typeof import('../pages/engine-page.js');

const openEnginePage = (browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> =>
  openModulePage(browser, `${url}/test/e2e/pages/engine.html`, 'enginePage');

const call = <K extends keyof EnginePage & string>(page: Page, name: K, ...args: Parameters<EnginePage[K]>) =>
  callPageModule<EnginePage, K>(page, 'enginePage', name, ...(args as never));

/**
 * The load events from the engine's worker, in order: `resolve` first naming the weight files,
 * each file then downloaded (its bytes growing to its size) or served from the cache, weights
 * uploaded, and `ready` last with the bytes counted.
 */
function checkLoadEvents(events: LoadProgress[]): void {
  console.log(`chromium load events: ${events.map((e) => e.status).join(' ')}`);
  const statuses = events.map((e) => e.status);
  expect(statuses[0]).toBe('resolve');
  expect(statuses.at(-1)).toBe('ready');
  expect(statuses.filter((s) => s === 'ready')).toHaveLength(1);
  const resolve = events[0] as LoadResolveEvent;
  expect(resolve.files.length).toBeGreaterThan(0);
  const lastUpload = statuses.lastIndexOf('upload');
  expect(lastUpload).toBeGreaterThan(0);
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.status === 'download') {
      expect(e.loaded, e.file).toBeGreaterThanOrEqual(seen.get(e.file) ?? 0);
      seen.set(e.file, e.loaded);
    }
    if (e.status === 'cached') seen.set(e.file, e.bytes);
  }
  for (const { file, bytes } of resolve.files) {
    expect(seen.has(file), `no download or cached event for ${file}`).toBe(true);
    if (bytes !== null) expect(seen.get(file), file).toBe(bytes);
  }
  const ready = events.at(-1) as LoadReadyEvent;
  expect(ready.downloadedBytes + ready.cachedBytes).toBe([...seen.values()].reduce((a, b) => a + b, 0));
  expect(ready.timings.totalMs).toBeGreaterThan(0);
}

describe('browser e2e: the webgpu executor in a worker', () => {
  let server: ViteDevServer;
  let url: string;
  let browser: Browser;
  let api: FaultServer;

  beforeAll(async () => {
    api = await FaultServer.start();
    api.route('POST /v1/images/generations', openaiImagesResponder);
    api.route('GET /health', [{ status: 200, json: { status: 'ok' } }]);
    ({ server, url } = await startPageServer({ proxy: { '/fake-api': api.url } }));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.close();
  });

  it('generates with progress, cancels a second request mid-way, then generates a third', async () => {
    const { page, errors } = await openEnginePage(browser, url);
    const created = await call(page, 'create', { modelNameOrPath: `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`, dtype: 'f32', preview: true });
    expect(created).toEqual({ executorName: 'webgpu', fallbackReason: null });
    checkLoadEvents(await call(page, 'loadProgress'));

    const first = await call(page, 'generate', { numInferenceSteps: 3, guidanceScale: 0, seed: 1, width: 64, height: 64 });
    expect(first.error).toBeNull();
    expect(first.progress).toEqual([1, 2, 3]);
    expect(first.previews).toBe(3);
    expect(first.images).toEqual([expect.objectContaining({ width: 64, height: 64, bytes: 64 * 64 * 4 })]);
    expect(first.mainThreadTicks).toBeGreaterThan(0);

    const second = await call(page, 'generate', { numInferenceSteps: 6, guidanceScale: 0, seed: 2 }, 2);
    expect(second.errorName).toBe('AbortError');
    expect(second.images).toEqual([]);
    expect(second.progress.length).toBeLessThan(6);

    const third = await call(page, 'generate', { numInferenceSteps: 2, guidanceScale: 0, seed: 1, width: 64, height: 64 });
    expect(third.error).toBeNull();
    console.log(`chromium webgpu (SwiftShader), pipeline-sdturbo-tiny 64x64: ${first.perStepMs?.toFixed(1)} ms/step with previews, ${third.perStepMs?.toFixed(1)} ms/step, ${third.totalMs?.toFixed(0)} ms/image (2 steps)`);
    expect(third.images).toHaveLength(1);

    await call(page, 'close');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fails the request in flight when the worker crashes, then restarts it for the next request', async () => {
    const { page } = await openEnginePage(browser, url);
    await call(page, 'create', { modelNameOrPath: `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`, dtype: 'f32' });
    const crashed = await call(page, 'generate', { numInferenceSteps: 8, guidanceScale: 0, seed: 3, width: 64, height: 64 }, undefined, 1);
    expect(crashed.error).toMatch(/engine worker crashed/);
    expect(crashed.images).toEqual([]);
    const next = await call(page, 'generate', { numInferenceSteps: 1, guidanceScale: 0, seed: 3, width: 64, height: 64 });
    expect(next.error).toBeNull();
    expect(next.images).toHaveLength(1);
    await call(page, 'close');
    await page.close();
  });

  it('survives each kind of failure mid-recording in the worker: typed error, then the same image', async () => {
    const { page, errors } = await openEnginePage(browser, url);
    await call(page, 'create', { modelNameOrPath: `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`, dtype: 'f32' });
    const request = { numInferenceSteps: 2, guidanceScale: 0, seed: 7, width: 64, height: 64 };
    const reference = await call(page, 'generate', request);
    expect(reference.error).toBeNull();
    const expected = { shape: 'TensorShapeError', validation: 'GpuValidationError', host: 'Error', 'device-lost': 'GpuDeviceLostError' };
    for (const [kind, errorName] of Object.entries(expected)) {
      await call(page, 'injectFault', kind, 30);
      const failed = await call(page, 'generate', request);
      expect([kind, failed.errorName]).toEqual([kind, errorName]);
      const next = await call(page, 'generate', request);
      expect([kind, next.error]).toEqual([kind, null]);
      expect(next.images).toEqual(reference.images);
    }
    await call(page, 'close');
    await page.close();
    // Dawn reports the injected validation error and the lost device on the console; nothing else.
    expect(errors.filter((e) => !/Source and destination are the same buffer|device.*(lost|destroyed)|injected fault/i.test(e))).toEqual([]);
  });

  it('falls back to http when Chromium has no WebGPU, and still returns an image', async () => {
    const noGpu = await launchChromium({ webgpu: false });
    try {
      const { page } = await openEnginePage(noGpu, url);
      const created = await call(page, 'create', {
        modelNameOrPath: `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`,
        fallback: 'http',
        http: { baseUrl: `${url}/fake-api`, maxRetries: 0 },
      });
      expect(created.executorName).toBe('http');
      expect(created.fallbackReason).toMatch(/^webgpu: /);
      const out = await call(page, 'generate', { width: 32, height: 32, seed: 5 });
      expect(out.error).toBeNull();
      expect(out.images).toEqual([expect.objectContaining({ width: 32, height: 32 })]);
      await call(page, 'close');
    } finally {
      await noGpu.close();
    }
  });
});
