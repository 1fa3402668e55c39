import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectErrors } from './browser.js';

/**
 * Test pages expose one module as `window[global]` and set `window[global + 'Ready']` once it
 * has loaded. These helpers open such a page and call the module's functions from the test.
 */
export async function openModulePage(owner: Browser | BrowserContext, url: string, global: string): Promise<{ page: Page; errors: string[] }> {
  const page = await owner.newPage();
  const errors = collectErrors(page);
  await page.goto(url);
  await page.waitForFunction((g) => (window as unknown as Record<string, unknown>)[`${g}Ready`] === true, global);
  return { page, errors };
}

/** Calls `name(...args)` on the page's module and resolves with its (JSON-cloned) result. */
export function callPageModule<M, K extends keyof M & string>(
  page: Page,
  global: string,
  name: K,
  ...args: M[K] extends (...a: infer A) => unknown ? A : never
): Promise<M[K] extends (...a: never[]) => infer R ? Awaited<R> : never> {
  return page.evaluate(
    ([g, n, a]) => {
      const mod = (window as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[g]!;
      return mod[n]!(...a);
    },
    [global, name, args as unknown[]] as const,
  ) as Promise<M[K] extends (...a: never[]) => infer R ? Awaited<R> : never>;
}
