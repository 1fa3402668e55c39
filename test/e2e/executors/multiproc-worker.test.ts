import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureUrlPath, launchChromium, startPageServer } from '../helpers/browser.js';
import { callPageModule, openModulePage } from '../helpers/page-module.js';

type EnginePage = typeof import('../pages/engine-page.js');

const call = <K extends keyof EnginePage & string>(page: Page, name: K, ...args: Parameters<EnginePage[K]>) =>
  callPageModule<EnginePage, K>(page, 'enginePage', name, ...(args as never));

describe('browser e2e: the multiproc executor on a pool of module workers', () => {
  let server: ViteDevServer;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, url } = await startPageServer());
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs concurrent requests on two workers, with progress, and the same image for the same seed', async () => {
    const { page, errors } = await openModulePage(browser, `${url}/test/e2e/pages/engine.html`, 'enginePage');
    const created = await call(page, 'create', { executorClass: 'mp', numGpus: 2, modelNameOrPath: `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`, dtype: 'f32' });
    expect(created).toEqual({ executorName: 'mp', fallbackReason: null });

    const request = { numInferenceSteps: 2, guidanceScale: 0, seed: 3, width: 64, height: 64 };
    const [a, b] = await Promise.all([call(page, 'generate', request), call(page, 'generate', request)]);
    for (const out of [a, b]) {
      expect(out.error).toBeNull();
      expect(out.progress).toEqual([1, 2]);
      expect(out.images).toEqual([expect.objectContaining({ width: 64, height: 64, bytes: 64 * 64 * 4 })]);
    }
    expect(b.images[0]!.mean).toBe(a.images[0]!.mean);

    await call(page, 'close');
    expect(errors).toEqual([]);
    await page.close();
  });
});
