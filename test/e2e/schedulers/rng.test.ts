import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../src/schedulers/rng.js';
import { collectErrors, launchChromium, startPageServer } from '../helpers/browser.js';

describe('Rng in Chromium', () => {
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

  it('draws the same normals, bit for bit, as Node for the same seeds', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.goto(`${url}/test/e2e/schedulers/rng-page.html`);
    await page.waitForFunction(() => (window as unknown as { streams?: unknown }).streams !== undefined);
    const streams = (await page.evaluate(() => (window as unknown as { streams: Record<string, number[]> }).streams)) as Record<string, number[]>;
    for (const seed of [0, 42, 2 ** 40 + 3]) {
      expect(streams[String(seed)]).toEqual(Array.from(new Uint32Array(new Rng(seed).randn(4096).buffer)));
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
