import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';
import { DEFAULT_LIMITS, type GpuCapabilities, type GpuLimits } from '../../../src/webgpu/limits.js';
import { DeviceFitCheck, type FitRequest } from '../../../src/pipelines/fit-check.js';
import { DeviceLimitError } from '../../../src/plan/errors.js';
import { planModel, type PlanConfigs } from '../../../src/plan/plan-model.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';
import { thrown } from '../../helpers/thrown.js';

const json = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const tinyShapes: PlanConfigs = {
  unet: json(resolve(repoRoot, 'models/tiny-shapes/unet/config.json')),
  textEncoder: json(resolve(repoRoot, 'models/tiny-shapes/text_encoder/config.json')),
  source: 'tiny-shapes',
};
const sd15 = (component: string): unknown => json(resolve(repoRoot, 'bench/configs/sd15', component, 'config.json'));
const sd15Configs: PlanConfigs = { unet: sd15('unet'), vae: sd15('vae'), textEncoder: sd15('text_encoder'), source: 'sd15' };
const taesd = json(fixturePath('taesd-decoder', 'config.json'));

const device = (limits: Partial<GpuLimits> = {}): GpuCapabilities => ({ shaderF16: true, subgroups: false, limits: { ...DEFAULT_LIMITS, ...limits } });
const request = (o: Partial<FitRequest> = {}): FitRequest => ({ width: 32, height: 32, batch: 2, images: 1, decoder: 'vae', img2img: false, ...o });

describe('DeviceFitCheck on the bundled tiny-shapes model (pixel space), WebGPU default limits', () => {
  const fit = new DeviceFitCheck(tinyShapes, device(), 'f32', 1);

  it('passes the model at its own size, and a larger one that fits', () => {
    fit.checkModel();
    expect(() => fit.check(request())).not.toThrow();
    expect(() => fit.check(request({ width: 256, height: 128 }))).not.toThrow();
  });

  it('refuses 8192×8192 (one latent plane is 256 MiB, more than any binding) naming the tensor, its bytes and the limit, and a size that fits', () => {
    const err = thrown(() => fit.check(request({ width: 8192, height: 8192 }))) as DeviceLimitError;
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect(err.name).toBe('DeviceLimitError');
    expect(err.component).toBe('unet');
    expect(err.limit).toBe('maxStorageBufferBindingSize');
    expect(err.limitValue).toBe(DEFAULT_LIMITS.maxStorageBufferBindingSize);
    expect(err.tensor).toMatch(/^tensor \[\d+(,\d+)*\] f32$/);
    expect(err.bytes).toBeGreaterThan(err.limitValue);
    expect(err.message).toContain(`${err.tensor} (${err.bytes} bytes) does not fit maxStorageBufferBindingSize = 134217728`);
    const suggested = /a smaller size \((\d+)×(\d+) fits\)/.exec(err.advice);
    expect(suggested, err.message).not.toBeNull();
    expect(err.message.endsWith(err.advice)).toBe(true);
    const [width, height] = [Number(suggested![1]), Number(suggested![2])];
    expect(width).toBeLessThan(8192);
    expect(width).toBe(height);
    // A size a request may ask for: multiples of 8.
    expect(width % 8).toBe(0);
    expect(() => fit.check(request({ width, height }))).not.toThrow();
  });

  it('plans each request shape once: the same shape throws the same error again', () => {
    const big = request({ width: 8192, height: 4096 });
    const first = thrown(() => fit.check(big));
    expect(thrown(() => fit.check({ ...big }))).toBe(first);
    expect(thrown(() => fit.check({ ...big, batch: 1 }))).not.toBe(first);
  });

  it('leaves a size the UNet cannot divide to the model, which names it itself', () => {
    expect(() => fit.check(request({ width: 30, height: 8194 }))).not.toThrow();
  });

  it('suggests one image per request when only the batch is too large', () => {
    // Kernels that bind a whole tensor make some sizes fit at one image and not at two.
    const configs = { ...tinyShapes, source: 'tiny-shapes' };
    const size = [256, 512, 768, 1024].find((s) => {
      const plan = (batch: number) => planModel(configs, { width: s, height: s, batch, dtype: 'f32', latentScale: 1, unetCalls: 1 }).withinLimits;
      return plan(2) && !plan(4);
    });
    expect(size, 'premise: a size where 2 images with guidance (batch 4) do not fit and 1 image does').toBeDefined();
    const err = thrown(() => fit.check(request({ width: size!, height: size!, batch: 4, images: 2 }))) as DeviceLimitError;
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect(err.advice).toContain('one image per request (numOutputsPerPrompt: 1)');
  });

  it('fails the model at load, for the engine to fall back, when nothing fits at any size', () => {
    const tiny = new DeviceFitCheck(tinyShapes, device({ maxStorageBufferBindingSize: 4096 }), 'f32', 1);
    const err = thrown(() => tiny.checkModel()) as ExecutorUnavailableError;
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect(err.message).toMatch(/^This GPU cannot run tiny-shapes at any size\. DeviceLimitError: The \w+ at 1×1, input \[[\d,]+\] does not fit this GPU: .* maxStorageBufferBindingSize = 4096\./);
    expect(err.cause).toBeInstanceOf(DeviceLimitError);
  });
});

describe('DeviceFitCheck on SD 1.5 when the VAE decoder is what does not fit', () => {
  // Workgroup memory for the UNet's attention heads (at most 160 wide) but not for the VAE's 512:
  // the first such limit of a few, as the attention kernel's tiling decides.
  const plan512 = (l: Partial<GpuLimits>, decoder: 'vae' | 'taesd' = 'vae') =>
    planModel({ ...sd15Configs, taesd }, { width: 512, height: 512, batch: 2, dtype: 'f16', unetCalls: 1, limits: l, decoder });
  const limits = [1024, 2048, 3072, 4096, 6144, 8192]
    .map((maxComputeWorkgroupStorageSize) => ({ maxComputeWorkgroupStorageSize }))
    .find((l) => {
      const c = plan512(l).components;
      return c.find((x) => x.name === 'vae_decoder')?.error?.limit === 'maxComputeWorkgroupStorageSize' && c.every((x) => x.name === 'vae_decoder' || x.error === null);
    })!;
  const at512 = request({ width: 512, height: 512 });

  it('premise: some workgroup-memory limit fails the VAE decoder and fits the UNet, the text encoder and TAESD', () => {
    expect(limits).toBeDefined();
    expect(plan512(limits, 'taesd').withinLimits).toBe(true);
  });

  it('with a TAESD decoder loaded: loads, refuses decoder "vae" suggesting TAESD, and passes decoder "taesd"', () => {
    const fit = new DeviceFitCheck({ ...sd15Configs, taesd }, device(limits), 'f16', 8);
    fit.checkModel();
    const err = thrown(() => fit.check(at512)) as DeviceLimitError;
    expect(err.component).toBe('vae_decoder');
    expect(err.limit).toBe('maxComputeWorkgroupStorageSize');
    expect(err.bytes).toBeGreaterThan(limits.maxComputeWorkgroupStorageSize);
    expect(err.message).toContain("Try the TAESD decoder (decoder: 'taesd')");
    expect(() => fit.check({ ...at512, decoder: 'taesd' })).not.toThrow();
  });

  it('without one: fails at load, naming the VAE decoder and the limit', () => {
    const fit = new DeviceFitCheck(sd15Configs, device(limits), 'f16', 8);
    const err = thrown(() => fit.checkModel()) as ExecutorUnavailableError;
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect(err.message).toContain('The vae_decoder at 8×8');
    expect(err.message).toContain(`more than maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`);
  });
});
