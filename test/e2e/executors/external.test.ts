import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureUrlPath, launchChromium, startPageServer } from '../helpers/browser.js';
import { callPageModule, openModulePage } from '../helpers/page-module.js';

type SharedEnginePage = typeof import('../pages/shared-engine-page.js');

const openPage = (context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> =>
  openModulePage(context, `${url}/test/e2e/pages/shared-engine.html`, 'sharedEnginePage');

const call = <K extends keyof SharedEnginePage & string>(page: Page, name: K, ...args: Parameters<SharedEnginePage[K]>) =>
  callPageModule<SharedEnginePage, K>(page, 'sharedEnginePage', name, ...(args as never));

describe('browser e2e: the external executor on a SharedWorker', () => {
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

  it('lets two pages of one origin share one engine worker: the model loads once and both generate', async () => {
    const context = await browser.newContext();
    try {
      const first = await openPage(context, url);
      const second = await openPage(context, url);
      const model = `${url}${fixtureUrlPath('pipeline-sdturbo-tiny')}`;

      expect((await call(first.page, 'create', model)).executorName).toBe('external');
      expect(await call(first.page, 'stats')).toMatchObject({ loads: 1, clients: 1 });
      expect((await call(second.page, 'create', model)).executorName).toBe('external');
      expect(await call(second.page, 'stats')).toMatchObject({ loads: 1, clients: 2 });

      const request = { numInferenceSteps: 2, guidanceScale: 0, seed: 4, width: 64, height: 64 };
      const [a, b] = await Promise.all([call(first.page, 'generate', request), call(second.page, 'generate', request)]);
      for (const out of [a, b]) {
        expect(out.error).toBeNull();
        expect(out.progress).toEqual([1, 2]);
        expect(out.images).toEqual([expect.objectContaining({ width: 64, height: 64 })]);
      }
      expect(b.images[0]!.sum).toBe(a.images[0]!.sum);
      expect(await call(first.page, 'stats')).toMatchObject({ loads: 1, clients: 2, generated: 2 });

      await call(first.page, 'close');
      expect(await call(second.page, 'stats')).toMatchObject({ loads: 1, clients: 1 });
      await call(second.page, 'close');
      expect(first.errors).toEqual([]);
      expect(second.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
