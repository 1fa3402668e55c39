import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectErrors, launchChromium, startPageServer } from './helpers/browser.js';

describe('e2e rig: Chromium with WebGPU', () => {
  let browser: Browser;
  let server: ViteDevServer;
  let url: string;

  beforeAll(async () => {
    ({ server, url } = await startPageServer());
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('yields a WebGPU adapter that runs a compute shader', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.goto(`${url}/test/e2e/pages/adapter.html`);
    const info = (await page.evaluate(() => (window as unknown as { probe: Promise<Record<string, unknown>> }).probe)) as {
      ok: boolean;
      reason?: string;
      result: number[];
      maxStorageBufferBindingSize: number;
    };
    expect(info.reason).toBeUndefined();
    expect(info.ok).toBe(true);
    expect(info.result).toEqual(Array.from({ length: 100 }, (_, i) => i * 2 + 1));
    expect(info.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('has no navigator.gpu adapter when WebGPU is disabled', async () => {
    const noGpu = await launchChromium({ webgpu: false });
    const page = await noGpu.newPage();
    await page.goto(`${url}/test/e2e/pages/adapter.html`);
    const info = (await page.evaluate(() => (window as unknown as { probe: Promise<Record<string, unknown>> }).probe)) as { ok: boolean };
    expect(info.ok).toBe(false);
    await noGpu.close();
  });
});
