import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiImagesResponder } from '../../helpers/fake-image-api.js';
import { FaultServer } from '../../helpers/fault-server.js';
import { fixturesDir, repoRoot } from '../../helpers/fixtures.js';
import { collectErrors, launchChromium } from '../helpers/browser.js';
import { StaticServer } from './static-server.js';

/** The standalone bundle is built fresh from vite.element.config.ts into this folder. */
const bundleDir = resolve(repoRoot, 'test-results/element-bundle');

type Shadowed = HTMLElement & { shadowRoot: ShadowRoot; generate(): Promise<unknown>; engine: unknown; executorName: string | null };

async function open(browser: Browser, server: StaticServer, page: string): Promise<{ page: Page; errors: string[] }> {
  const p = await browser.newPage();
  const errors = collectErrors(p);
  await p.goto(`${server.url}/pages/${page}`);
  await p.waitForFunction(() => customElements.get('omni-diffusion') !== undefined);
  return { page: p, errors };
}

function waitForState(page: Page, id: string, states: string[]): Promise<unknown> {
  return page.waitForFunction(([i, s]) => s.includes(document.getElementById(i)!.getAttribute('state')!), [id, states] as const, { timeout: 120_000 });
}

describe('<omni-diffusion> from the standalone bundle on plain HTML pages', () => {
  let server: StaticServer;
  let api: FaultServer;
  let browser: Browser;

  beforeAll(async () => {
    await build({ configFile: resolve(repoRoot, 'vite.element.config.ts'), logLevel: 'error', build: { outDir: bundleDir, emptyOutDir: true } });
    api = await FaultServer.start();
    api.route('POST /v1/images/generations', openaiImagesResponder);
    server = await StaticServer.start(
      { '/dist/': bundleDir, '/pages/': resolve(repoRoot, 'test/e2e/pages'), '/fixtures/': fixturesDir() },
      { '/fake-api': api.url },
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.close();
  });

  it('generates from the keyboard with progress, keeps an HTML prompt as text, and shows attribute errors with a working retry', async () => {
    const { page, errors } = await open(browser, server, 'element-standalone.html');
    const prompt = 'a cat <img src=x onerror="window.pwned = true">';
    await page.evaluate(() => {
      const w = window as unknown as { steps: number[]; previews: number };
      w.steps = [];
      w.previews = 0;
      document.getElementById('a')!.addEventListener('progress', (e) => {
        const d = (e as unknown as CustomEvent<{ step: number; preview?: unknown }>).detail;
        w.steps.push(d.step);
        if (d.preview) w.previews++;
      });
    });
    const a = page.locator('#a');
    await a.getByRole('button', { name: 'Generate' }).focus();
    await page.keyboard.press('Enter');
    await waitForState(page, 'a', ['done', 'error']);
    expect(await a.getAttribute('state')).toBe('done');
    expect(await page.evaluate(() => (window as unknown as { steps: number[] }).steps)).toEqual([1, 2]);
    expect(await page.evaluate(() => (window as unknown as { previews: number }).previews)).toBe(2);

    const image = a.getByRole('img', { name: prompt, exact: true });
    expect(await image.isVisible()).toBe(true);
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([64, 64]);
    const status = a.getByRole('status');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await status.innerText()).toContain(prompt);
    expect(await page.evaluate(() => (document.getElementById('a') as Shadowed).shadowRoot.querySelectorAll('img').length)).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined();
    const download = a.getByRole('link', { name: 'Download PNG' });
    expect(await download.getAttribute('download')).toBe('omni-diffusion-5.png');
    expect(await download.getAttribute('href')).toMatch(/^blob:/);
    // The worker came from beside the bundle, not from the page's folder or the site root.
    expect(server.count('/dist/omni-diffusion.engine.worker.js')).toBe(1);

    const bad = page.locator('#bad');
    const failure = page.evaluate(
      () =>
        new Promise<{ name: string; message: string }>((ok) =>
          document.getElementById('bad')!.addEventListener(
            'error',
            (e) => {
              const { name, message } = (e as unknown as CustomEvent<{ name: string; message: string }>).detail;
              ok({ name, message });
            },
            { once: true },
          ),
        ),
    );
    await bad.getByRole('button', { name: 'Generate' }).click();
    expect(await failure).toEqual({ name: 'ElementAttributeError', message: expect.stringContaining('"steps" = "two"') });
    const alert = bad.getByRole('alert');
    expect(await alert.isVisible()).toBe(true);
    expect(await alert.innerText()).toContain('attribute "steps"');
    await page.evaluate(() => document.getElementById('bad')!.setAttribute('steps', '1'));
    await bad.getByRole('button', { name: 'Retry' }).click();
    await waitForState(page, 'bad', ['done', 'error']);
    expect(await bad.getAttribute('state')).toBe('done');
    expect(await alert.isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs img2img from an init-image URL or pixels set as a property, as the engine does, and names a URL that fails to load', async () => {
    const { page, errors } = await open(browser, server, 'element-standalone.html');
    const result = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 64;
      const ctx = canvas.getContext('2d')!;
      const gradient = ctx.createLinearGradient(0, 0, 64, 64);
      gradient.addColorStop(0, '#1040e0');
      gradient.addColorStop(1, '#f0c020');
      ctx.fillStyle = gradient;
      ctx.fillRect(0, 0, 64, 64);
      ctx.fillStyle = '#20a040';
      ctx.fillRect(16, 20, 24, 24);
      const pixels = ctx.getImageData(0, 0, 64, 64);
      const el = document.createElement('omni-diffusion') as Shadowed & { initImage: unknown; image: { data: Uint8ClampedArray } | null };
      for (const [k, v] of Object.entries({ prompt: 'a cat', model: '/fixtures/pipeline-sdturbo-tiny/', steps: '2', guidance: '0', seed: '5', dtype: 'f32', strength: '0.5' })) el.setAttribute(k, v);
      el.setAttribute('init-image', canvas.toDataURL('image/png'));
      document.body.append(el);
      const fromUrl = await el.generate();
      const urlPixels = Array.from(el.image!.data);
      el.initImage = pixels;
      const hadAttribute = el.hasAttribute('init-image');
      await el.generate();
      const propertyPixels = Array.from(el.image!.data);
      const engine = el.engine as { generate(r: object): Promise<{ images: { data: Uint8ClampedArray }[] }> };
      const base = { prompt: 'a cat', numInferenceSteps: 2, guidanceScale: 0, seed: 5 };
      const direct = Array.from((await engine.generate({ ...base, image: pixels, strength: 0.5 })).images[0]!.data);
      const text = Array.from((await engine.generate({ ...base, width: 64, height: 64 })).images[0]!.data);
      const failure = new Promise<{ name: string; message: string }>((ok) =>
        el.addEventListener('error', (e) => ok((e as unknown as CustomEvent<{ name: string; message: string }>).detail), { once: true }),
      );
      el.initImage = '/pages/missing.png';
      const missing = await el.generate();
      const { name, message } = await failure;
      return { ok: fromUrl !== null, urlPixels, propertyPixels, hadAttribute, direct, text, missing, failure: { name, message }, state: el.getAttribute('state') };
    });
    expect(result.ok).toBe(true);
    expect(result.hadAttribute).toBe(false);
    expect(result.urlPixels).toEqual(result.direct);
    expect(result.propertyPixels).toEqual(result.direct);
    expect(result.text).not.toEqual(result.direct);
    expect(result.missing).toBeNull();
    expect(result.state).toBe('error');
    expect(result.failure).toMatchObject({ name: 'ElementAttributeError', message: expect.stringMatching(/attribute "init-image" = "\/pages\/missing\.png": .*HTTP 404/) });
    expect(errors.filter((e) => !/404/.test(e))).toEqual([]);
    await page.close();
  });

  it('applies the LoRAs of its loras property (a URL path or a File) to every image, as the engine does', async () => {
    const { page, errors } = await open(browser, server, 'element-standalone.html');
    const result = await page.evaluate(async () => {
      const el = document.createElement('omni-diffusion') as Shadowed & { loras: unknown; image: { data: Uint8ClampedArray } | null };
      for (const [k, v] of Object.entries({ prompt: 'a red fox in the snow', model: '/fixtures/pipeline-sd15-tiny/', steps: '2', guidance: '7.5', seed: '3', dtype: 'f32', width: '64', height: '64' })) el.setAttribute(k, v);
      document.body.append(el);
      await el.generate();
      const plain = Array.from(el.image!.data);
      const path = '/fixtures/community/lora-sd15-tiny/lora_kohya.safetensors';
      el.loras = [{ source: path, scale: 0.7 }];
      await el.generate();
      const withUrl = Array.from(el.image!.data);
      const bytes = await (await fetch(path)).arrayBuffer();
      el.loras = [{ source: new File([bytes], 'fox.safetensors'), scale: 0.7 }];
      await el.generate();
      const withFile = Array.from(el.image!.data);
      const engine = el.engine as { generate(r: object): Promise<{ images: { data: Uint8ClampedArray }[] }> };
      const base = { prompt: 'a red fox in the snow', numInferenceSteps: 2, guidanceScale: 7.5, seed: 3, width: 64, height: 64 };
      const direct = Array.from((await engine.generate({ ...base, loras: [{ source: new URL(path, document.baseURI).href, scale: 0.7 }] })).images[0]!.data);
      el.loras = null;
      await el.generate();
      const cleared = Array.from(el.image!.data);
      return { plain, withUrl, withFile, direct, cleared, state: el.getAttribute('state') };
    });
    expect(result.state).toBe('done');
    expect(result.withUrl).toEqual(result.direct);
    expect(result.withFile).toEqual(result.direct);
    expect(result.withUrl).not.toEqual(result.plain);
    expect(result.cleared).toEqual(result.plain);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs an SDXL-Turbo model from its folder URL with nothing else set: its defaults, 1 step without guidance', async () => {
    const { page, errors } = await open(browser, server, 'element-standalone.html');
    const result = await page.evaluate(async () => {
      const el = document.createElement('omni-diffusion') as Shadowed & { image: { width: number; height: number; data: Uint8ClampedArray } | null };
      for (const [k, v] of Object.entries({ prompt: 'a photo of a cat', model: '/fixtures/pipeline-sdxl-turbo-tiny/', seed: '2', width: '64', height: '64', dtype: 'f32' })) el.setAttribute(k, v);
      const steps: number[] = [];
      el.addEventListener('progress', (e) => steps.push((e as unknown as CustomEvent<{ total: number }>).detail.total));
      document.body.append(el);
      const out = await el.generate();
      const image = el.image!;
      const colours = new Set<number>();
      for (let i = 0; i < image.data.length; i += 4) colours.add((image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!);
      return { ok: out !== null, size: [image.width, image.height], colours: colours.size, totals: [...new Set(steps)], state: el.getAttribute('state') };
    });
    expect(result).toMatchObject({ ok: true, size: [64, 64], totals: [1], state: 'done' });
    expect(result.colours).toBeGreaterThan(8);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lets two elements with the same model share one engine, worker and model download, and closes it when both leave', async () => {
    const { page, errors } = await open(browser, server, 'element-shared.html');
    const unet = '/fixtures/pipeline-sdturbo-tiny/unet/diffusion_pytorch_model.safetensors';
    const workersBefore = server.count('/dist/omni-diffusion.engine.worker.js');
    const unetBefore = server.count(unet);
    const result = await page.evaluate(async () => {
      const bundle = window as unknown as { sharedEngineCount(): number };
      const a = document.getElementById('a') as Shadowed;
      const b = document.getElementById('b') as Shadowed;
      const outputs = await Promise.all([a.generate(), b.generate()]);
      const shared = { same: a.engine !== null && a.engine === b.engine, engines: bundle.sharedEngineCount(), ok: outputs.every((o) => o !== null) };
      a.remove();
      b.remove();
      await new Promise((r) => setTimeout(r, 0));
      return { ...shared, afterRemoval: bundle.sharedEngineCount() };
    });
    expect(result).toEqual({ same: true, engines: 1, ok: true, afterRemoval: 0 });
    expect(server.count('/dist/omni-diffusion.engine.worker.js') - workersBefore).toBe(1);
    expect(server.count(unet) - unetBefore).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('falls back to the http endpoint when Chromium has no WebGPU, and shows the notice', async () => {
    const noGpu = await launchChromium({ webgpu: false });
    try {
      const { page, errors } = await open(noGpu, server, 'element-fallback.html');
      const fallback = page.evaluate(
        () =>
          new Promise<{ requested: string; executor: string; reason: string }>((ok) =>
            document.getElementById('a')!.addEventListener('fallback', (e) => ok((e as unknown as CustomEvent<{ requested: string; executor: string; reason: string }>).detail), { once: true }),
          ),
      );
      const a = page.locator('#a');
      await a.getByRole('button', { name: 'Generate' }).click();
      await waitForState(page, 'a', ['done', 'error']);
      expect(await a.getAttribute('state')).toBe('done');
      expect(await fallback).toEqual({ requested: 'webgpu', executor: 'http', reason: expect.stringMatching(/^webgpu: /) });
      const notice = a.getByRole('note');
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.innerText()).toMatch(/webgpu could not start, so this runs on http \(http:\/\/127\.0\.0\.1:\d+\/fake-api\)/);
      expect(await page.evaluate(() => (document.getElementById('a') as Shadowed).executorName)).toBe('http');
      const image = a.getByRole('img', { name: 'a green triangle' });
      expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([64, 64]);
      expect(api.requests.at(-1)?.json()).toMatchObject({ prompt: 'a green triangle', size: '64x64', seed: 9 });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await noGpu.close();
    }
  });
});
