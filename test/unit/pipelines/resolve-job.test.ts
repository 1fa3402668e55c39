import { describe, expect, it } from 'vitest';
import { DiffusionRequest, type DiffusionRequestInit } from '../../../src/api/request.js';
import type { ModelDefaults } from '../../../src/pipelines/model-defaults.js';
import { checkCapabilities, jobRequestOf, randomSeed, resolveJob, type JobCapabilities } from '../../../src/pipelines/resolve-job.js';
import { thrown } from '../../helpers/thrown.js';

const defaults: ModelDefaults = { steps: 20, guidanceScale: 7.5, height: 64, width: 64, scheduler: 'PNDMScheduler' };
const caps: JobCapabilities = { executor: 'test', decoders: ['vae'], decoderHint: 'no TAESD here', img2img: true, latentChannels: 4, vaeScaleFactor: 8 };
const resolve = (init: DiffusionRequestInit, c: JobCapabilities = caps) => resolveJob(jobRequestOf(new DiffusionRequest(init)), defaults, c);

describe('resolveJob', () => {
  it("fills the fields a request leaves out from the model's defaults", () => {
    expect(resolve({ prompt: 'p', seed: 1 })).toEqual({
      prompt: 'p', negativePrompt: null, promptSyntax: 'plain', numInferenceSteps: 20, guidanceScale: 7.5, height: 64, width: 64, seed: 1, numImages: 1,
      decoder: 'vae', scheduler: 'PNDMScheduler', returnTrajectoryLatents: false, returnIntermediates: false,
    });
  });

  it('keeps what the request gives', () => {
    const job = resolve({ prompt: 'p', negativePrompt: 'n', seed: 5, numInferenceSteps: 3, guidanceScale: 1, height: 32, width: 48, numOutputsPerPrompt: 2, scheduler: 'ddim', eta: 0.3, returnIntermediates: true });
    expect(job).toMatchObject({ negativePrompt: 'n', seed: 5, numInferenceSteps: 3, guidanceScale: 1, height: 32, width: 48, numImages: 2, scheduler: 'ddim', eta: 0.3, returnIntermediates: true });
  });

  it("sizes img2img by its init image and applies diffusers' default strength", () => {
    const image = { width: 16, height: 24, data: new Uint8ClampedArray(16 * 24 * 4) };
    const job = resolve({ prompt: 'p', seed: 0, image });
    expect(job).toMatchObject({ width: 16, height: 24 });
    expect(job.init!.strength).toBe(0.8);
    expect(job.init!.image).toHaveLength(3 * 16 * 24);
  });

  it('draws one seed rule for every executor: a missing seed is an integer below 2^32', () => {
    for (let i = 0; i < 50; i++) {
      const seed = resolve({ prompt: 'p' }).seed;
      expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    }
    expect(randomSeed(() => 0)).toBe(0);
    expect(randomSeed(() => 1 - 2 ** -53)).toBe(2 ** 32 - 1);
  });

  it('refuses, by field name, what the executor cannot do', () => {
    const image = { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4) };
    expect(() => resolve({ prompt: 'p', image }, { ...caps, img2img: false })).toThrow(expect.objectContaining({ name: 'RequestValidationError', field: 'image' }));
    expect(() => resolve({ prompt: 'p', decoder: 'taesd' })).toThrow(/DiffusionRequest\.decoder.*'vae' \(no TAESD here\)/);
    expect(() => resolve({ prompt: 'p', latents: new Float32Array(3) })).toThrow(/latents.*256 values, the shape \[1, 4, 8, 8\]/);
    expect(resolve({ prompt: 'p', latents: new Float32Array(256) }).latents).toHaveLength(256);
  });

  it("says why img2img is refused where the reason is the model's, not the executor's", () => {
    const image = { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4) };
    const err = thrown(() => resolve({ prompt: 'p', image }, { ...caps, img2img: false, img2imgHint: "this model's vae/ is an AutoencoderTiny" }));
    expect(err).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(err.message).toMatch(/expected absent: this model's vae\/ is an AutoencoderTiny\.$/);
    expect(thrown(() => resolve({ prompt: 'p', image }, { ...caps, img2img: false })).message).toMatch(/expected absent: the test executor runs text-to-image only\.$/);
  });
});

describe('checkCapabilities', () => {
  it('refuses a job built without resolveJob as resolveJob refuses the request, naming the field', () => {
    const decoder = thrown(() => checkCapabilities({ decoder: 'taesd' }, caps));
    expect(decoder).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'decoder', value: 'taesd' });
    expect(decoder.message).toBe(`Invalid DiffusionRequest.decoder = "taesd": expected one of 'vae' (no TAESD here).`);
    const image = thrown(() => checkCapabilities({ image: new Float32Array(3), decoder: 'vae' }, { ...caps, img2img: false }));
    expect(image).toMatchObject({ name: 'RequestValidationError', field: 'image' });
    expect(() => checkCapabilities({ image: undefined, decoder: 'vae' }, { ...caps, img2img: false })).not.toThrow();
    expect(() => checkCapabilities({ image: new Float32Array(3), decoder: 'taesd' }, { ...caps, decoders: ['vae', 'taesd'] })).not.toThrow();
  });

  describe('SDXL fields', () => {
    const sdxl: JobCapabilities = { ...caps, sdxl: true };

    it("defaults the micro-conditioning to diffusers' (the output size, uncropped) and keeps what the request gives", () => {
      expect(resolve({ prompt: 'p', seed: 0, height: 32, width: 48 }, sdxl)).toMatchObject({
        prompt2: null,
        negativePrompt2: null,
        microConditioning: { originalSize: [32, 48], cropsCoordsTopLeft: [0, 0], targetSize: [32, 48] },
      });
      const job = resolve({ prompt: 'p', prompt2: 'q', negativePrompt2: 'm', seed: 0, originalSize: [1024, 768], cropsCoordsTopLeft: [16, 8], targetSize: [512, 512] }, sdxl);
      expect(job).toMatchObject({ prompt2: 'q', negativePrompt2: 'm', microConditioning: { originalSize: [1024, 768], cropsCoordsTopLeft: [16, 8], targetSize: [512, 512] } });
    });

    it.each([
      ['prompt2', { prompt2: 'q' }],
      ['negativePrompt2', { negativePrompt2: 'q' }],
      ['originalSize', { originalSize: [64, 64] as const }],
      ['cropsCoordsTopLeft', { cropsCoordsTopLeft: [0, 0] as const }],
      ['targetSize', { targetSize: [64, 64] as const }],
    ])('refuses %s on a model without a second text encoder, naming it', (field, extra) => {
      const err = thrown(() => resolve({ prompt: 'p', seed: 0, ...extra }));
      expect(err).toMatchObject({ name: 'RequestValidationError', field });
      expect(err.message).toContain("SDXL's");
    });

    it('adds no SDXL fields to the job of a model without them', () => {
      const job = resolve({ prompt: 'p', seed: 0 });
      expect(job).not.toHaveProperty('microConditioning');
      expect(job).not.toHaveProperty('prompt2');
    });

    it('checks the size of each step noise against the latents', () => {
      const ok = resolve({ prompt: 'p', seed: 0, stepNoise: [new Float32Array(4 * 8 * 8)] });
      expect(ok.stepNoise).toHaveLength(1);
      const err = thrown(() => resolve({ prompt: 'p', seed: 0, stepNoise: [new Float32Array(4 * 8 * 8), new Float32Array(3)] }));
      expect(err).toMatchObject({ name: 'RequestValidationError', field: 'stepNoise' });
      expect(err.message).toContain('256 values');
    });
  });
});
