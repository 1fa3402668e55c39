import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusersRepoError } from '../../../src/io/errors.js';
import type { UNetConfig } from '../../../src/models/unet/config.js';
import { MODEL_DEFAULTS_KEY, pipelineDefaults, samplingDefaults } from '../../../src/pipelines/model-defaults.js';
import { repoRoot } from '../../helpers/fixtures.js';

const unet = (sampleSize: number, timeCondProjDim: number | null = null, sdxl = false) =>
  ({ sampleSize, timeCondProjDim, additionEmbed: sdxl ? { timeEmbedDim: 256, pooledDim: 1280 } : null }) as UNetConfig;
const index = (extra: Record<string, unknown> = {}) => ({ _class_name: 'StableDiffusionPipeline', ...extra }) as never;

describe('pipelineDefaults', () => {
  it('infers the family defaults: SD 25 steps at 7.5, SD-Turbo 1 step at 0, LCM 4 steps at 8, sized by the VAE', () => {
    expect(pipelineDefaults(index(), unet(64), { _class_name: 'PNDMScheduler' }, 8, 'sd15')).toEqual({ steps: 25, guidanceScale: 7.5, height: 512, width: 512, scheduler: 'PNDMScheduler' });
    expect(pipelineDefaults(index(), unet(64), { _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' }, 8, 'turbo')).toMatchObject({ steps: 1, guidanceScale: 0 });
    expect(pipelineDefaults(index(), unet(96, 256), { _class_name: 'LCMScheduler' }, 8, 'lcm')).toMatchObject({ steps: 4, guidanceScale: 8, width: 768 });
    // SDXL base at its UNet's 1024²; SDXL-Turbo (trailing) 1 step without guidance at 512², as its model card runs it.
    expect(pipelineDefaults(index(), unet(128, null, true), { _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'leading' }, 8, 'sdxl')).toMatchObject({ steps: 25, guidanceScale: 7.5, width: 1024, height: 1024 });
    expect(pipelineDefaults(index(), unet(128, null, true), { _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'trailing' }, 8, 'sdxl-turbo')).toEqual({
      steps: 1, guidanceScale: 0, width: 512, height: 512, scheduler: 'EulerAncestralDiscreteScheduler',
    });
  });

  it(`takes the model's own defaults from model_index.json "${MODEL_DEFAULTS_KEY}"`, () => {
    const stated = index({ [MODEL_DEFAULTS_KEY]: { num_inference_steps: 20, guidance_scale: 1.5 } });
    expect(pipelineDefaults(stated, unet(32), { _class_name: 'DDIMScheduler', timestep_spacing: 'trailing' }, 1, 'tiny')).toEqual({
      steps: 20, guidanceScale: 1.5, height: 32, width: 32, scheduler: 'DDIMScheduler',
    });
    const stepsOnly = index({ [MODEL_DEFAULTS_KEY]: { num_inference_steps: 8 } });
    expect(pipelineDefaults(stepsOnly, unet(64), {}, 8, 'x')).toMatchObject({ steps: 8, guidanceScale: 7.5 });
  });

  it('states 20 steps at guidance 2 for the bundled tiny-shapes model', () => {
    const raw = JSON.parse(readFileSync(join(repoRoot, 'models/tiny-shapes/model_index.json'), 'utf8'));
    expect(raw[MODEL_DEFAULTS_KEY]).toEqual({ num_inference_steps: 20, guidance_scale: 2 });
  });

  it.each([
    [[1, 2], /must be an object/],
    [{ num_inference_steps: 0 }, /num_inference_steps must be a positive integer, not 0/],
    [{ guidance_scale: 'high' }, /guidance_scale must be a non-negative number, not "high"/],
  ])('rejects a malformed entry %j naming the file and field', (entry, message) => {
    const call = () => pipelineDefaults(index({ [MODEL_DEFAULTS_KEY]: entry }), unet(32), {}, 1, 'my/model');
    expect(call).toThrow(DiffusersRepoError);
    expect(call).toThrow(/my\/model\/model_index\.json "_omni_diffusion_defaults"/);
    expect(call).toThrow(message);
  });

  it('gives a model without model_index.json (an ONNX export may lack one) the defaults of its family', () => {
    expect(samplingDefaults(null, { timestep_spacing: 'trailing' }, false, 'x')).toEqual({ steps: 1, guidanceScale: 0 });
    expect(samplingDefaults(null, { _class_name: 'LCMScheduler' }, false, 'x')).toEqual({ steps: 4, guidanceScale: 8 });
    expect(samplingDefaults(null, { _class_name: 'PNDMScheduler' }, true, 'x')).toEqual({ steps: 4, guidanceScale: 8 });
    expect(samplingDefaults(null, { _class_name: 'PNDMScheduler' }, false, 'x')).toEqual({ steps: 25, guidanceScale: 7.5 });
  });
});
