import { describe, expect, it } from 'vitest';
import { DiffusionConfig } from '../../../../src/api/config.js';
import { modelSpecOf, readWebGPUOptions, WEBGPU_OPTION_KEYS } from '../../../../src/executors/webgpu/options.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';

describe('model specs of the webgpu executor', () => {
  it('carry a ModelSource object beside its id, and a model name as it is', () => {
    const source = new BlobSource({}, 'mem');
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: source }), 'webgpu')).toMatchObject({ modelNameOrPath: 'mem', source });
    const named = modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model' }), 'webgpu');
    expect(named.modelNameOrPath).toBe('org/model');
    expect(named.source).toBeUndefined();
  });

  it('need a model, naming the executor', () => {
    expect(() => modelSpecOf(new DiffusionConfig({}), 'multiproc')).toThrow(/multiproc executor needs DiffusionConfig\.modelNameOrPath/);
  });
});

describe('GPU options in the model spec', () => {
  it('default to the adapter limits and auto activations, and pass explicit values through', () => {
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model' }), 'webgpu')).toMatchObject({ gpuLimits: 'adapter', activations: 'auto' });
    const spec = modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', gpuLimits: 'default', activations: 'f32' }), 'webgpu');
    expect(spec).toMatchObject({ gpuLimits: 'default', activations: 'f32' });
  });

  it('refuse values they do not know with ConfigValidationError naming the field', () => {
    expect(() => modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', activations: 'fp16' }), 'webgpu')).toThrow(/DiffusionConfig\.activations = "fp16": expected 'auto' or 'f32' or 'f16'/);
    expect(() => modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', gpuLimits: 'max' }), 'webgpu')).toThrow(/DiffusionConfig\.gpuLimits/);
  });
});

describe('the webgpu option block', () => {
  it('defaults every option, and takes null for the optional repos', () => {
    expect(readWebGPUOptions(new DiffusionConfig({}))).toEqual({ variant: null, taesd: null, vae: null, preview: false, gpuLimits: 'adapter', activations: 'auto', loraNames: {} });
    expect(readWebGPUOptions(new DiffusionConfig({ variant: 'fp16', taesd: null, preview: true, worker: false }))).toMatchObject({ variant: 'fp16', taesd: null, preview: true, worker: false });
  });

  it('refuses a wrong type with ConfigValidationError naming the field, rather than ignoring it', () => {
    expect(() => readWebGPUOptions(new DiffusionConfig({ variant: 16 }))).toThrow(/DiffusionConfig\.variant = 16: expected a Hub weights variant/);
    expect(() => readWebGPUOptions(new DiffusionConfig({ taesd: {} }))).toThrow(/DiffusionConfig\.taesd/);
    expect(() => readWebGPUOptions(new DiffusionConfig({ vae: 42 }))).toThrow(/DiffusionConfig\.vae = 42: expected a VAE repo \(diffusers AutoencoderKL, config\.json and weights at its root\)/);
    expect(() => readWebGPUOptions(new DiffusionConfig({ preview: 'yes' }))).toThrow(/DiffusionConfig\.preview = "yes": expected true or false/);
  });
});

describe('the vae config field', () => {
  it('is a config key of the executor, reaches the model spec as given, and is null when left out', () => {
    expect(WEBGPU_OPTION_KEYS).toContain('vae');
    const spec = modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'stabilityai/stable-diffusion-xl-base-1.0', vae: 'madebyollin/sdxl-vae-fp16-fix' }), 'webgpu');
    expect(spec.vae).toBe('madebyollin/sdxl-vae-fp16-fix');
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model' }), 'webgpu').vae).toBeNull();
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', vae: null }), 'webgpu').vae).toBeNull();
  });

  it('refuses anything but a string with ConfigValidationError naming the field', () => {
    for (const vae of [true, 1, ['a/b'], { id: 'a/b' }]) {
      expect(() => modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', vae }), 'webgpu')).toThrow(expect.objectContaining({ name: 'ConfigValidationError', field: 'vae' }));
    }
  });
});

const workerOf = (config: DiffusionConfig): boolean | undefined => readWebGPUOptions(config).worker;

describe('the worker config field', () => {
  it('is absent, true or false; anything else is a ConfigValidationError naming it', () => {
    expect(workerOf(new DiffusionConfig({}))).toBeUndefined();
    expect(workerOf(new DiffusionConfig({ worker: true }))).toBe(true);
    expect(workerOf(new DiffusionConfig({ worker: false }))).toBe(false);
    expect(() => workerOf(new DiffusionConfig({ worker: 'thread' }))).toThrow(/DiffusionConfig\.worker = "thread": expected true/);
  });
});
