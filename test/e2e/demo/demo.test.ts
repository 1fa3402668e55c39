import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../../src/io/png-encode.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { collectErrors, launchChromium } from '../helpers/browser.js';
import { StaticServer } from '../element/static-server.js';
import { startDemoServer } from './demo-server.js';

const screenshots = resolve(repoRoot, 'test-results/screenshots');

type ElementState = 'idle' | 'loading' | 'running' | 'done' | 'cancelled' | 'error';

function waitForState(page: Page, states: ElementState[], timeout = 120_000): Promise<unknown> {
  return page.waitForFunction((s: string[]) => s.includes(document.querySelector('#generator')!.getAttribute('state')!), states as string[], { timeout });
}

/** Counts the element's progress events from now on, in the page. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { steps: number[]; previews: number };
    w.steps = [];
    w.previews = 0;
    document.querySelector('#generator')!.addEventListener('progress', (e) => {
      const d = (e as unknown as CustomEvent<{ step: number; preview?: unknown }>).detail;
      w.steps.push(d.step);
      if (d.preview) w.previews++;
    });
  });
}

describe('demo site (demo/, its own Vite config)', () => {
  let server: ViteDevServer;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, url } = await startDemoServer());
    browser = await launchChromium();
    mkdirSync(screenshots, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('generates with the bundled tiny model, shows progress and the image, cancels, and lays out at desktop and phone sizes', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = collectErrors(page);
    const navigated = Date.now();
    await page.goto(`${url}/?steps=2&seed=11`);
    await page.waitForFunction(() => customElements.get('omni-diffusion') !== undefined && document.querySelector('#device dd') !== null);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    const generator = page.locator('#generator');
    expect(await generator.getAttribute('model')).toBe('./tiny-shapes/');
    expect(await page.locator('#models input[value="tiny-shapes"]').isChecked()).toBe(true);
    expect(await page.locator('#models').innerText()).toMatch(/SD-Turbo[\s\S]*GB[\s\S]*LCM Dreamshaper[\s\S]*GB[\s\S]*Stable Diffusion 1\.5[\s\S]*GB/);

    await recordProgress(page);
    await generator.getByRole('button', { name: 'Generate' }).click();
    await waitForState(page, ['done', 'error']);
    const firstImageMs = Date.now() - navigated;
    expect(await generator.getAttribute('state')).toBe('done');
    const prompt = await page.locator('#prompt').inputValue();
    expect(await page.evaluate(() => (window as unknown as { steps: number[] }).steps)).toEqual([1, 2]);
    expect(await page.evaluate(() => (window as unknown as { previews: number }).previews)).toBe(2);
    const image = generator.getByRole('img', { name: prompt });
    expect(await image.isVisible()).toBe(true);
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([32, 32]);
    expect(await generator.getByRole('status').innerText()).toContain('Image ready');
    expect(await generator.locator('progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([2, 2]);
    expect(await generator.getByRole('link', { name: 'Download PNG' }).getAttribute('download')).toBe('omni-diffusion-11.png');
    await page.locator('#gallery li').first().waitFor();
    expect(await page.locator('#gallery li').first().innerText()).toMatch(/seed 11[\s\S]*32×32[\s\S]*total · webgpu/);
    expect(await page.locator('#run-badge').innerText()).toBe('Ran on webgpu');
    await page.locator('#device dd', { hasText: /MB|kB/ }).last().waitFor();
    const pageFirstImageMs = await page.evaluate(() => (window as unknown as { omniDemo: { firstImageMs: number } }).omniDemo.firstImageMs);
    await page.screenshot({ path: resolve(screenshots, 'demo-desktop.png'), fullPage: true });

    // Cancel a long run after its first step; the element says so and keeps working.
    await page.locator('#steps').fill('40');
    await recordProgress(page);
    await generator.getByRole('button', { name: 'Generate' }).click();
    await page.waitForFunction(() => (window as unknown as { steps: number[] }).steps.length >= 1, null, { timeout: 60_000 });
    await generator.getByRole('button', { name: 'Cancel' }).click();
    await waitForState(page, ['cancelled']);
    expect(await generator.getByRole('status').innerText()).toBe('Cancelled');
    expect(await page.evaluate(() => (window as unknown as { steps: number[] }).steps.length)).toBeLessThan(40);
    expect(await page.locator('#gallery li').count()).toBe(1);

    // Phone size: one column, prompt then image; a second image through the keyboard shortcut.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#steps').fill('1');
    await page.locator('#prompt').fill('a large yellow triangle against a purple background');
    await page.locator('#prompt').press('Control+Enter');
    await waitForState(page, ['done', 'error']);
    expect(await generator.getAttribute('state')).toBe('done');
    await page.locator('#gallery li').nth(1).waitFor();
    const promptBox = await page.locator('#prompt').boundingBox();
    const stage = await generator.boundingBox();
    expect(stage!.y).toBeGreaterThan(promptBox!.y);
    expect(stage!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: resolve(screenshots, 'demo-phone-viewport.png') });
    // The header is sticky: from a scrolled position a full-page capture would paint it over the prompt box.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: resolve(screenshots, 'demo-phone.png'), fullPage: true });

    writeFileSync(resolve(screenshots, 'demo-timings.json'), `${JSON.stringify({ firstImageMsFromNavigation: firstImageMs, firstImageMsInPage: pageFirstImageMs }, null, 2)}\n`);
    console.log(`demo time-to-first-image (tiny model, 2 steps, Chromium/SwiftShader): ${firstImageMs} ms from navigation, ${Math.round(pageFirstImageMs)} ms performance.now()`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('starts from an uploaded image scaled to the chosen size, at the chosen strength, and clears it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = collectErrors(page);
    await page.goto(`${url}/?steps=2&seed=11`);
    await page.waitForFunction(() => customElements.get('omni-diffusion') !== undefined);
    expect(await page.locator('#strength').isDisabled()).toBe(true);
    // 64x64, twice the tiny model's 32x32: a red square on blue, the model's own domain.
    const side = 64;
    const data = new Uint8ClampedArray(side * side * 4);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const inside = x >= 16 && x < 48 && y >= 16 && y < 48;
        data.set(inside ? [230, 25, 25, 255] : [30, 60, 230, 255], (y * side + x) * 4);
      }
    }
    await page.locator('#init-image').setInputFiles({ name: 'start.png', mimeType: 'image/png', buffer: Buffer.from(encodePng({ width: side, height: side, data })) });
    await page.waitForFunction(() => (document.querySelector('#generator') as unknown as { initImage: unknown }).initImage instanceof ImageBitmap);
    await page.locator('#strength').fill('0.5');
    expect(await page.locator('#strength').isDisabled()).toBe(false);
    expect(await page.locator('#strength-value').innerText()).toBe('0.5');
    const generator = page.locator('#generator');
    expect(await generator.getAttribute('strength')).toBe('0.5');
    await generator.getByRole('button', { name: 'Generate' }).click();
    await waitForState(page, ['done', 'error']);
    expect(await generator.getAttribute('state')).toBe('done');
    const check = await page.evaluate(async () => {
      const el = document.querySelector('#generator') as unknown as {
        initImage: ImageBitmap;
        image: { width: number; height: number; data: Uint8ClampedArray };
        guidance: number;
        prompt: string;
        engine: { generate(r: object): Promise<{ images: { data: Uint8ClampedArray }[] }> };
      };
      const base = { prompt: el.prompt, numInferenceSteps: 2, guidanceScale: el.guidance, seed: 11 };
      const same = await el.engine.generate({ ...base, image: el.initImage, strength: 0.5 });
      const stronger = await el.engine.generate({ ...base, image: el.initImage, strength: 1 });
      const shown = Array.from(el.image.data);
      return {
        bitmap: [el.initImage.width, el.initImage.height],
        size: [el.image.width, el.image.height],
        sameAsEngine: shown.every((v, i) => v === same.images[0]!.data[i]),
        strengthMatters: shown.some((v, i) => v !== stronger.images[0]!.data[i]),
      };
    });
    expect(check).toEqual({ bitmap: [32, 32], size: [32, 32], sameAsEngine: true, strengthMatters: true });
    await page.locator('#clear-init').click();
    await page.waitForFunction(() => (document.querySelector('#generator') as unknown as { initImage: unknown }).initImage === null);
    expect(await page.locator('#strength').isDisabled()).toBe(true);
    expect(await generator.getAttribute('strength')).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('hands chosen LoRA files to the element with the scale of their sliders, and removes them', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = collectErrors(page);
    await page.goto(`${url}/?steps=2&seed=11`);
    await page.waitForFunction(() => customElements.get('omni-diffusion') !== undefined);
    const bytes = Buffer.from('not read until a generation');
    await page.locator('#lora-files').setInputFiles([
      { name: 'fox.safetensors', mimeType: 'application/octet-stream', buffer: bytes },
      { name: 'snow.safetensors', mimeType: 'application/octet-stream', buffer: bytes },
    ]);
    const loras = () =>
      page.evaluate(() =>
        ((document.querySelector('#generator') as unknown as { loras: { source: File; scale: number }[] }).loras ?? []).map((l) => [l.source.name, l.scale]),
      );
    expect(await loras()).toEqual([
      ['fox.safetensors', 1],
      ['snow.safetensors', 1],
    ]);
    await page.getByRole('slider', { name: 'Scale of snow.safetensors' }).fill('0.35');
    expect(await loras()).toEqual([
      ['fox.safetensors', 1],
      ['snow.safetensors', 0.35],
    ]);
    await page.getByRole('button', { name: 'Remove fox.safetensors' }).click();
    expect(await loras()).toEqual([['snow.safetensors', 0.35]]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('builds to a static site that generates from a plain file server', async () => {
    const outDir = resolve(repoRoot, 'test-results/demo-build');
    await build({ configFile: resolve(repoRoot, 'demo/vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
    const files = await StaticServer.start({ '/': outDir });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors = collectErrors(page);
      const navigated = Date.now();
      await page.goto(`${files.url}/index.html?steps=2&seed=3`);
      await page.waitForFunction(() => customElements.get('omni-diffusion') !== undefined);
      await page.locator('#generator').getByRole('button', { name: 'Generate' }).click();
      await waitForState(page, ['done', 'error']);
      const firstImageMs = Date.now() - navigated;
      expect(await page.locator('#generator').getAttribute('state')).toBe('done');
      expect(files.count('/tiny-shapes/unet/diffusion_pytorch_model.safetensors')).toBe(1);
      writeFileSync(resolve(screenshots, 'demo-build-timings.json'), `${JSON.stringify({ firstImageMsFromNavigation: firstImageMs }, null, 2)}\n`);
      console.log(`built demo time-to-first-image (tiny model, 2 steps): ${firstImageMs} ms from navigation`);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await files.close();
    }
  });
});
