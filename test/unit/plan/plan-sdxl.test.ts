import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { planModel, type ComponentPlan, type PlanConfigs, type PlanModelOptions, type PlanReport, type PlannedComponent } from '../../../src/plan/plan-model.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../../../src/quant/policy.js';
import { createScheduler } from '../../../src/schedulers/registry.js';
import type { RawSchedulerConfig } from '../../../src/schedulers/config.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { SDXL_BASE_UNET_CONFIG } from '../../helpers/sdxl-unet-config.js';

/** SDXL's published configs in bench/configs (see bench/configs/README.md for where each file comes from). */
const MODELS = ['sdxl-base', 'sdxl-turbo'] as const;

function readJson(model: string, path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(repoRoot, 'bench/configs', model, path), 'utf8')) as Record<string, unknown>;
}

/** What `omni-diffusion plan bench/configs/<model>` reads. */
function sdxlConfigs(model: string): PlanConfigs {
  return {
    unet: readJson(model, 'unet/config.json'),
    vae: readJson(model, 'vae/config.json'),
    textEncoder: readJson(model, 'text_encoder/config.json'),
    textEncoder2: readJson(model, 'text_encoder_2/config.json'),
    source: model,
  };
}

function component(report: PlanReport, name: ComponentPlan['name']): PlannedComponent {
  const c = report.components.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} in the plan`);
  return c;
}

/** The published parameter counts (../shared/notes/model-configs.md; diffusers and transformers count the same). */
const PARAMETERS = { unet: 2_567_463_684, text_encoder_2: 694_659_840, text_encoder: 123_060_480 } as const;

/** The two sizes SDXL is run at: Turbo at 512² without guidance, base at 1024² with it. */
const TURBO: PlanModelOptions = { width: 512, height: 512, batch: 1, dtype: 'f16' };
const BASE: PlanModelOptions = { width: 1024, height: 1024, batch: 2, dtype: 'f16' };

/** Every component planned, each binding and allocation within WebGPU's defaults, nothing leaked, no score matrix. */
function expectWithinDefaults(report: PlanReport): void {
  expect(report.components.map((c) => [c.name, c.error?.message ?? null])).toEqual(report.components.map((c) => [c.name, null]));
  expect(report.withinLimits).toBe(true);
  expect(report.limits).toEqual(DEFAULT_LIMITS);
  expect(report.largestBindingBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
  expect(report.maxAllocationBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBufferSize);
  expect(report.scoreMatrixBuffers).toBe(0);
  for (const c of report.components) {
    expect(c.leakedBytes, c.name).toBe(0);
    expect(new Set(c.dispatchesPerCall).size, `${c.name}: the same dispatches on every call`).toBe(1);
  }
}

describe('the published SDXL configs in bench/configs', () => {
  it.each(MODELS)('%s has every file a diffusers StableDiffusionXLPipeline folder has', (model) => {
    for (const path of ['model_index.json', 'unet/config.json', 'text_encoder/config.json', 'text_encoder_2/config.json', 'vae/config.json', 'scheduler/scheduler_config.json']) {
      expect(existsSync(resolve(repoRoot, 'bench/configs', model, path)), `${model}/${path}`).toBe(true);
    }
    expect(readJson(model, 'model_index.json')['_class_name']).toBe('StableDiffusionXLPipeline');
  });

  it('holds the UNet config as published (test/helpers/sdxl-unet-config.ts), the same in SDXL-Turbo but for the keys later diffusers add', () => {
    expect(readJson('sdxl-base', 'unet/config.json')).toEqual(SDXL_BASE_UNET_CONFIG);
    const turbo = readJson('sdxl-turbo', 'unet/config.json');
    const { _diffusers_version: _v, attention_type: _a, dropout: _d, reverse_transformer_layers_per_block: _r, ...same } = turbo;
    expect({ ...same, _diffusers_version: SDXL_BASE_UNET_CONFIG._diffusers_version }).toEqual(SDXL_BASE_UNET_CONFIG);
  });

  it('conditions the UNet on both text encoders: cross_attention_dim and the added-embedding width add up', () => {
    const unet = readJson('sdxl-base', 'unet/config.json');
    const te = readJson('sdxl-base', 'text_encoder/config.json');
    const te2 = readJson('sdxl-base', 'text_encoder_2/config.json');
    expect(unet['cross_attention_dim']).toBe((te['hidden_size'] as number) + (te2['hidden_size'] as number));
    expect(unet['projection_class_embeddings_input_dim']).toBe((te2['projection_dim'] as number) + 6 * (unet['addition_time_embed_dim'] as number));
    expect(readJson('sdxl-base', 'vae/config.json')['scaling_factor']).toBe(0.13025);
  });

  it('schedules SDXL base with leading spacing and SDXL-Turbo with trailing spacing (one step is t = 999)', () => {
    const scheduler = (model: string) => {
      const config = readJson(model, 'scheduler/scheduler_config.json') as RawSchedulerConfig;
      const s = createScheduler(config['_class_name'] as string, config);
      s.setTimesteps(1);
      return s.timesteps;
    };
    expect(scheduler('sdxl-turbo')).toEqual([999]);
    // leading: arange(0, 1) * 1000 + steps_offset.
    expect(scheduler('sdxl-base')).toEqual([1]);
  });
});

describe('planModel on the published SDXL configs', () => {
  describe('SDXL-Turbo at 512x512, batch 1 (no guidance), f16 weights', () => {
    const report = planModel(sdxlConfigs('sdxl-turbo'), TURBO);

    it("plans both text encoders, the UNet and the VAE decoder within WebGPU's default limits", () => {
      expect(report.components.map((c) => c.name)).toEqual(['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']);
      expect(component(report, 'unet').input).toEqual([1, 4, 64, 64]);
      expect(component(report, 'text_encoder_2').input).toEqual([1, 77]);
      expectWithinDefaults(report);
    });

    it('counts the published parameters of the UNet and both text encoders', () => {
      for (const [name, parameters] of Object.entries(PARAMETERS)) expect(component(report, name as ComponentPlan['name']).parameters, name).toBe(parameters);
    });
  });

  describe('SDXL base at 1024x1024, batch 2 (classifier-free guidance), f16 weights', () => {
    const report = planModel(sdxlConfigs('sdxl-base'), BASE);
    const unet = component(report, 'unet');

    it("plans every component within WebGPU's default limits", () => {
      expect(unet.input).toEqual([2, 4, 128, 128]);
      expect(component(report, 'vae_decoder').input).toEqual([1, 4, 128, 128]);
      expectWithinDefaults(report);
    });

    it('keeps the activations of the text encoders and the UNet below 1.5 GB', () => {
      for (const name of ['text_encoder', 'text_encoder_2', 'unet'] as const) {
        expect(component(report, name).peakActivationBytes, name).toBeGreaterThan(0);
        expect(component(report, name).peakActivationBytes, name).toBeLessThan(1.5e9);
      }
      // f32 activations: the UNet splits its feed-forward over tokens at this size (the GEGLU
      // input of the 64² level is [2·4096, 5120] f32, 168 MB): more dispatches than at 512² batch 1.
      const small = component(planModel(sdxlConfigs('sdxl-turbo'), TURBO), 'unet');
      expect(unet.dispatchesPerCall[0]).toBeGreaterThan(small.dispatchesPerCall[0]!);
    });

    it('with f16 activations (the pipeline on shader-f16): fewer UNet activation bytes and no feed-forward split', () => {
      const f16 = planModel(sdxlConfigs('sdxl-base'), { ...BASE, activations: 'f16' });
      expect(f16.activations).toBe('f16');
      expectWithinDefaults(f16);
      const unet16 = component(f16, 'unet');
      // Not half: the f32 plan runs its GEGLU in token chunks, which the f16 one needs not.
      expect(unet16.peakActivationBytes).toBeLessThan(0.65 * unet.peakActivationBytes);
      // 84 MB of f16 GEGLU input fits one binding: the same dispatches as at 512² batch 1.
      const small = component(planModel(sdxlConfigs('sdxl-turbo'), { ...TURBO, activations: 'f16' }), 'unet');
      expect(unet16.dispatchesPerCall[0]).toBe(small.dispatchesPerCall[0]);
      // The published VAE sets force_upcast: it still decodes in f32, as in diffusers.
      expect(component(f16, 'vae_decoder').peakActivationBytes).toBe(component(report, 'vae_decoder').peakActivationBytes);
    });

    it('stays under 1.5 GB of activations in every phase with f16 activations and an fp16-safe VAE (force_upcast false)', () => {
      // madebyollin/sdxl-vae-fp16-fix: SDXL's VAE architecture, fine-tuned not to overflow in fp16.
      const configs = { ...sdxlConfigs('sdxl-base'), vae: { ...readJson('sdxl-base', 'vae/config.json'), force_upcast: false } };
      const f16 = planModel(configs, { ...BASE, activations: 'f16' });
      expectWithinDefaults(f16);
      expect(f16.peakActivationBytes).toBeLessThan(1.5e9);
      expect(f16.peakActivationBytes).toBe(component(f16, 'vae_decoder').peakActivationBytes);
    });

    it('stays under 1.5 GB of activations with the published VAE (force_upcast, f32 decode): the VAE decodes 1024² over channel ranges', () => {
      const vae = component(report, 'vae_decoder');
      expect(report.activations).toBe('f32');
      expect(report.peakActivationBytes).toBe(vae.peakActivationBytes);
      // The goal of issue 21, in f32 and so in f16 too (the VAE is f32 either way). The peak is
      // the first 1024² resnet: the upsampler's input [1,256,512,512] (256 MiB), conv1's output
      // and the conv_shortcut sum [1,128,1024,1024] (512 MiB each) and one produced range of one
      // group (8 channels, 32 MiB) with its norm (32 MiB): 1 344 MiB and the latents.
      expect(report.peakActivationBytes).toBeLessThan(1.5e9);
      expect(vae.peakActivationBytes).toBeLessThanOrEqual(1344 * 2 ** 20 + 4 * 128 * 128 * 4);
      expect(report.peakBytes).toBe(report.weightsBytes + vae.peakActivationBytes);
    });

    it('counts the published parameters of the UNet and both text encoders', () => {
      for (const [name, parameters] of Object.entries(PARAMETERS)) expect(component(report, name as ComponentPlan['name']).parameters, name).toBe(parameters);
      // About 5.1 GB of fp16 UNet weights, as published; the pool rounds each buffer up to its bucket.
      expect(unet.weightsBytes).toBeGreaterThanOrEqual(2 * PARAMETERS.unet);
      expect(unet.weightsBytes).toBeLessThanOrEqual(2 * PARAMETERS.unet * 1.125);
    });

    it('stores the same weights in fewer bytes with int8 and int4, and still plans within the defaults', () => {
      const bytes = report.weightBytesByDtype;
      expect(bytes.f32).toBeGreaterThan(bytes.f16);
      expect(bytes.int8).toBeLessThan(0.55 * bytes.f16);
      expect(bytes.int4).toBeLessThan(0.65 * bytes.int8);
      for (const dtype of ['int8', 'int4'] as const) {
        const quantized = planModel(sdxlConfigs('sdxl-base'), { ...BASE, unetCalls: 1, quantize: defaultQuantPolicy(QUANTIZED_DTYPES[dtype]) });
        expectWithinDefaults(quantized);
        expect(component(quantized, 'unet').weightsBytes, dtype).toBeLessThan(unet.weightsBytes / 1.8);
      }
    });
  });
});
