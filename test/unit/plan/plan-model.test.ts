import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { ModelConfigError } from '../../../src/models/errors.js';
import { DeviceLimitError, PlanError } from '../../../src/plan/errors.js';
import { planModel, type ComponentPlan, type PlanConfigs, type PlanModelOptions, type PlanReport, type PlannedComponent } from '../../../src/plan/plan-model.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';
import { SDXL_BASE_UNET_CONFIG } from '../../helpers/sdxl-unet-config.js';

function benchConfigs(model: string): PlanConfigs {
  const read = (component: string): unknown => JSON.parse(readFileSync(resolve(repoRoot, 'bench/configs', model, component, 'config.json'), 'utf8'));
  return { unet: read('unet'), vae: read('vae'), textEncoder: read('text_encoder'), source: model };
}

const at512: PlanModelOptions = { width: 512, height: 512, batch: 2, dtype: 'f16' };
/** Limits a desktop GPU grants when asked: enough for the VAE decoder at 512x512. */
const desktop = { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30, maxComputeWorkgroupStorageSize: 32_768 };

function component(report: PlanReport, name: ComponentPlan['name']): PlannedComponent {
  const c = report.components.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} in the plan`);
  return c;
}

describe('planModel on the published full-size configs at 512x512', () => {
  describe.each(['sd15', 'sd-turbo'])('%s', (model) => {
    const report = planModel(benchConfigs(model), at512);
    const unet = component(report, 'unet');

    it('plans the UNet at batch 2 with every binding within the default 128 MiB and activations under 400 MB', () => {
      expect(unet.error).toBeNull();
      expect(unet.input).toEqual([2, 4, 64, 64]);
      expect(unet.largestBindingBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
      expect(unet.peakActivationBytes).toBeGreaterThan(0);
      expect(unet.peakActivationBytes).toBeLessThan(400e6);
      expect(report.dispatchesPerUnet).toBe(unet.dispatchesPerCall[0]);
    });

    it('never allocates a buffer the size of an attention score matrix', () => {
      expect(unet.attentionCalls).toBeGreaterThan(0);
      expect(unet.scoreMatrixBuffers).toBe(0);
      expect(unet.maxAllocationBytes).toBeLessThan(unet.largestScoreMatrixBytes);
      expect(report.scoreMatrixBuffers).toBe(0);
    });

    it('records the same dispatches on every UNet call and releases all it allocates', () => {
      expect(unet.dispatchesPerCall).toHaveLength(2);
      expect(unet.dispatchesPerCall[0]).toBeGreaterThan(0);
      expect(unet.dispatchesPerCall[1]).toBe(unet.dispatchesPerCall[0]);
      for (const c of report.components) if (c.error === null) expect(c.leakedBytes).toBe(0);
    });

    it('holds f16 weights: at least 2 bytes per parameter, at most the pool bucket rounding (12.5 %) more', () => {
      for (const c of report.components) {
        expect(c.weightsBytes).toBeGreaterThanOrEqual(2 * c.parameters);
        expect(c.weightsBytes).toBeLessThanOrEqual(2 * c.parameters * 1.125 + 256 * 1024);
      }
      expect(report.weightsBytes).toBe(report.components.reduce((n, c) => n + c.weightsBytes, 0));
      expect(report.peakBytes).toBe(report.weightsBytes + report.peakActivationBytes);
    });

    it('plans the text encoder at batch 2 x 77 tokens within the default limits', () => {
      const text = component(report, 'text_encoder');
      expect(text.error).toBeNull();
      expect(text.input).toEqual([2, 77]);
      expect(text.largestBindingBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
      expect(text.scoreMatrixBuffers).toBe(0);
    });

    it('reports a component over a limit as a DeviceLimitError naming the tensor or need, its bytes and the limit, and still plans the others', () => {
      // 2 KiB of workgroup memory: enough for CLIP's 64-wide attention heads, not for the VAE's 512.
      const limit = 2048;
      const small = planModel(benchConfigs(model), { ...at512, limits: { maxComputeWorkgroupStorageSize: limit } });
      const vae = component(small, 'vae_decoder');
      expect(vae.error).toBeInstanceOf(DeviceLimitError);
      expect(vae.error!.component).toBe('vae_decoder');
      expect(vae.error!.limit).toBe('maxComputeWorkgroupStorageSize');
      expect(vae.error!.limitValue).toBe(limit);
      expect(vae.error!.bytes).toBeGreaterThan(limit);
      expect(vae.error!.message).toContain(`The vae_decoder at 512×512, input [1,4,64,64] does not fit this GPU: ${vae.error!.tensor} needs ${vae.error!.bytes} bytes`);
      expect(vae.weightsBytes).toBeGreaterThan(0);
      expect(small.withinLimits).toBe(false);
      const text = component(small, 'text_encoder');
      expect(text.error).toBeNull();
      expect(text.peakActivationBytes).toBeGreaterThan(0);
      const planned = small.components.filter((c) => c.error === null);
      expect(small.peakActivationBytes).toBe(Math.max(...planned.map((c) => c.peakActivationBytes)));
    });

    it('plans the VAE decoder under desktop limits', () => {
      const raised = component(planModel(benchConfigs(model), { ...at512, limits: desktop }), 'vae_decoder');
      expect(raised.error).toBeNull();
      expect(raised.input).toEqual([1, 4, 64, 64]);
      expect(raised.scoreMatrixBuffers).toBe(0);
      expect(raised.leakedBytes).toBe(0);
    });

    it('gives each phase its device bytes: every weight plus that component’s activations', () => {
      for (const c of report.components) {
        expect(c.peakBytes).toBe(report.weightsBytes + c.peakActivationBytes);
        if (c.error === null) expect(c.peakBytes).toBeLessThanOrEqual(report.peakBytes);
      }
    });

    // Issue 16: the feed-forward's GEGLU input was one binding over 128 MiB at these sizes.
    it.each([
      [512, 4, 'f16'],
      [768, 2, 'f16'],
      [1024, 2, 'f16'],
      [1024, 1, 'f16'],
      [512, 4, 'f32'],
      [1024, 2, 'f32'],
    ] as const)('fits the UNet at %i² batch %i (%s weights) under the default limits', (px, batch, dtype) => {
      const plan = planModel({ unet: benchConfigs(model).unet }, { width: px, height: px, batch, dtype, unetCalls: 1 });
      const unet = component(plan, 'unet');
      expect(unet.error).toBeNull();
      expect(unet.largestBindingBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
      expect(unet.leakedBytes).toBe(0);
      expect(unet.scoreMatrixBuffers).toBe(0);
    });
  });

  it('plans the same bytes and dispatches for packed f16 (no shader-f16) as for shader-f16', () => {
    const f16 = planModel(benchConfigs('sd-turbo'), { ...at512, limits: desktop });
    const packed = planModel(benchConfigs('sd-turbo'), { ...at512, limits: desktop, shaderF16: false });
    expect(packed.shaderF16).toBe(false);
    expect({ ...packed, shaderF16: true }).toEqual(f16);
  });

  it('stores f32 weights at twice the f16 bytes, give or take bucket rounding', () => {
    const { unet } = benchConfigs('sd15');
    const f16 = component(planModel({ unet }, { ...at512, batch: 1 }), 'unet');
    const f32 = component(planModel({ unet }, { ...at512, batch: 1, dtype: 'f32' }), 'unet');
    expect(f32.parameters).toBe(f16.parameters);
    expect(f32.weightsBytes).toBeGreaterThanOrEqual(4 * f32.parameters);
    expect(f32.weightsBytes / f16.weightsBytes).toBeCloseTo(2, 1);
  });
});

describe('planModel for image-to-image', () => {
  it('adds the VAE encoder on one image at full size, its weights counted with the resident ones', () => {
    const text = planModel(benchConfigs('sd15'), { ...at512, limits: desktop });
    const img = planModel(benchConfigs('sd15'), { ...at512, limits: desktop, img2img: true });
    expect(text.img2img).toBe(false);
    expect(img.img2img).toBe(true);
    expect(img.components.map((c) => c.name)).toEqual(['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']);
    const encoder = component(img, 'vae_encoder');
    expect(encoder.error).toBeNull();
    expect(encoder.input).toEqual([1, 3, 512, 512]);
    // diffusers' SD AutoencoderKL has 83,653,863 parameters, split between decoder and encoder.
    expect(encoder.parameters + component(img, 'vae_decoder').parameters).toBe(83_653_863);
    expect(img.weightsBytes).toBe(text.weightsBytes + encoder.weightsBytes);
    expect(encoder.peakActivationBytes).toBeGreaterThan(0);
    expect(img.peakActivationBytes).toBe(Math.max(text.peakActivationBytes, encoder.peakActivationBytes));
    expect(encoder.scoreMatrixBuffers).toBe(0);
    expect(encoder.leakedBytes).toBe(0);
  });

  it('needs no encoder for a pixel-space model, and refuses a TAESD-only VAE, naming its config', () => {
    const tinyShapes = JSON.parse(readFileSync(resolve(repoRoot, 'models/tiny-shapes/unet/config.json'), 'utf8')) as unknown;
    const pixel = planModel({ unet: tinyShapes }, { ...at512, width: 32, height: 32, img2img: true });
    expect(pixel.components.map((c) => c.name)).toEqual(['unet']);
    const taesd = JSON.parse(readFileSync(fixturePath('taesd-decoder', 'config.json'), 'utf8')) as unknown;
    const { unet } = benchConfigs('sd15');
    const options = { ...at512, width: 128, height: 128, img2img: true };
    expect(() => planModel({ unet, vae: taesd, source: 'my-model' }, options)).toThrow(PlanError);
    expect(() => planModel({ unet, vae: taesd, source: 'my-model' }, options)).toThrow(/my-model\/vae\/config\.json describes an AutoencoderTiny/);
  });
});

describe('planModel inputs', () => {
  const { unet } = benchConfigs('sd15');

  it('plans a UNet alone, assuming the SD VAE factor of 8', () => {
    const report = planModel({ unet }, { ...at512, width: 256, batch: 1 });
    expect(report.components.map((c) => c.name)).toEqual(['unet']);
    expect(component(report, 'unet').input).toEqual([1, 4, 64, 32]);
    expect(report.withinLimits).toBe(true);
  });

  it('feeds an LCM UNet its guidance embedding (time_cond_proj_dim)', () => {
    const lcm = JSON.parse(readFileSync(fixturePath('unet-lcm-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(lcm['time_cond_proj_dim']).toEqual(expect.any(Number));
    const options = { ...at512, width: 128, height: 128 };
    const withCond = component(planModel({ unet: lcm }, options), 'unet');
    const without = component(planModel({ unet: { ...lcm, time_cond_proj_dim: null } }, options), 'unet');
    expect(withCond.error).toBeNull();
    expect(withCond.parameters).toBeGreaterThan(without.parameters);
    expect(withCond.dispatchesPerCall[0]).toBeGreaterThan(without.dispatchesPerCall[0]!);
  });

  it('feeds an SDXL UNet its added conditions (text_embeds and time ids) and plans add_embedding', () => {
    const sdxl = JSON.parse(readFileSync(fixturePath('unet-sdxl-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(sdxl['addition_embed_type']).toBe('text_time');
    const options = { ...at512, width: 128, height: 128 };
    const withAdded = component(planModel({ unet: sdxl }, options), 'unet');
    const without = component(planModel({ unet: { ...sdxl, addition_embed_type: null } }, options), 'unet');
    expect(withAdded.error).toBeNull();
    // add_embedding: linear_1 [temb, projection_class_embeddings_input_dim] and linear_2 [temb, temb], with biases.
    const temb = 4 * (sdxl['block_out_channels'] as number[])[0]!;
    const inputDim = sdxl['projection_class_embeddings_input_dim'] as number;
    expect(withAdded.parameters - without.parameters).toBe(temb * inputDim + temb + temb * temb + temb);
    expect(withAdded.dispatchesPerCall[0]).toBeGreaterThan(without.dispatchesPerCall[0]!);
    expect(withAdded.leakedBytes).toBe(0);
  });

  it('plans the published SDXL UNet at 1024x1024, batch 2: 2.567 G parameters, no score matrix, nothing leaked', () => {
    const report = planModel({ unet: SDXL_BASE_UNET_CONFIG }, { ...at512, width: 1024, height: 1024, unetCalls: 1, limits: desktop });
    const unet = component(report, 'unet');
    expect(unet.error).toBeNull();
    expect(unet.input).toEqual([2, 4, 128, 128]);
    // The published count (../shared/notes/model-configs.md): only right with every transformer layer and add_embedding.
    expect(unet.parameters / 2.567e9).toBeCloseTo(1, 3);
    expect(unet.scoreMatrixBuffers).toBe(0);
    expect(unet.leakedBytes).toBe(0);
  });

  it("rejects an image size the VAE cannot divide, naming the field, and plans any multiple of the VAE's 8", () => {
    expect(() => planModel({ unet }, { ...at512, width: 500 })).toThrow(PlanError);
    expect(() => planModel({ unet }, { ...at512, width: 500 })).toThrow(/width 500 is not a multiple of 8 \(the VAE's factor 8\)/);
    // 520 px: a 65-pixel latent, padded to 33, 17 and 9 on the way down and upsampled back to 17, 33 and 65.
    const odd = planModel({ unet }, { ...at512, width: 520, height: 512, batch: 1 });
    expect(component(odd, 'unet').input).toEqual([1, 4, 64, 65]);
    expect(component(odd, 'unet').error).toBeNull();
  });

  it('rejects non-positive sizes and unknown dtypes', () => {
    expect(() => planModel({ unet }, { ...at512, batch: 0 })).toThrow(/batch = 0/);
    expect(() => planModel({ unet }, { ...at512, images: 0 })).toThrow(/images = 0/);
    expect(() => planModel({ unet }, { ...at512, latentScale: 0.5 })).toThrow(/latentScale = 0.5/);
    expect(() => planModel({ unet }, { ...at512, dtype: 'bf16' as 'f16' })).toThrow(PlanError);
    expect(() => planModel({ unet }, { ...at512, decoder: 'tiny' as 'vae' })).toThrow(/decoder = tiny/);
  });

  it('plans f16 activations only for a device with shader-f16, and refuses other activation dtypes', () => {
    expect(planModel({ unet }, { ...at512, batch: 1, activations: 'f16' }).activations).toBe('f16');
    expect(planModel({ unet }, { ...at512, batch: 1 }).activations).toBe('f32');
    expect(() => planModel({ unet }, { ...at512, activations: 'f16', shaderF16: false })).toThrow(/activations = f16 needs a device with shader-f16/);
    expect(() => planModel({ unet }, { ...at512, activations: 'bf16' as 'f16' })).toThrow(/activations = bf16/);
  });

  it('plans a pixel-space model (no VAE) at the image size itself with latentScale 1', () => {
    const tinyShapes = JSON.parse(readFileSync(resolve(repoRoot, 'models/tiny-shapes/unet/config.json'), 'utf8')) as unknown;
    const report = planModel({ unet: tinyShapes }, { ...at512, width: 32, height: 48, latentScale: 1 });
    expect(component(report, 'unet').input).toEqual([2, 3, 48, 32]);
    // Any size: the UNet pads what does not halve evenly.
    expect(component(planModel({ unet: tinyShapes }, { ...at512, width: 30, height: 32, latentScale: 1 }), 'unet').input).toEqual([2, 3, 32, 30]);
  });

  it('decodes `images` latents at once, and plans TAESD in place of the VAE decoder with decoder "taesd"', () => {
    const configs = { ...benchConfigs('sd15'), taesd: JSON.parse(readFileSync(fixturePath('taesd-decoder', 'config.json'), 'utf8')) as unknown };
    const options = { ...at512, width: 256, height: 256, unetCalls: 1, limits: desktop };
    const one = planModel(configs, options);
    const four = planModel(configs, { ...options, batch: 8, images: 4 });
    expect(four.images).toBe(4);
    expect(component(four, 'vae_decoder').input).toEqual([4, 4, 32, 32]);
    expect(component(four, 'vae_decoder').peakActivationBytes).toBeGreaterThan(3 * component(one, 'vae_decoder').peakActivationBytes);
    const tiny = planModel(configs, { ...options, decoder: 'taesd' });
    expect(tiny.decoder).toBe('taesd');
    expect(tiny.components.map((c) => c.name)).toEqual(['text_encoder', 'unet', 'taesd_decoder']);
    expect(component(tiny, 'taesd_decoder').error).toBeNull();
    expect(component(tiny, 'taesd_decoder').parameters).toBeLessThan(component(one, 'vae_decoder').parameters / 10);
    expect(() => planModel(benchConfigs('sd15'), { ...options, decoder: 'taesd' })).toThrow(/decoder "taesd" needs a TAESD config/);
  });

  it('throws config errors naming the source folder and the file', () => {
    expect(() => planModel({ unet: { ...(unet as object), block_out_channels: 'wide' }, source: 'my-model' }, at512)).toThrow(ModelConfigError);
    expect(() => planModel({ unet: { ...(unet as object), block_out_channels: 'wide' }, source: 'my-model' }, at512)).toThrow(/my-model\/unet\/config\.json/);
  });
});
