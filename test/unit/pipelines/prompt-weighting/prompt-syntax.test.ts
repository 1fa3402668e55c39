import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '../../../../src/api/errors.js';
import { DiffusionRequest, type DiffusionRequestInit } from '../../../../src/api/request.js';
import { clipPromptEncoder } from '../../../../src/pipelines/conditioning.js';
import type { ModelDefaults } from '../../../../src/pipelines/model-defaults.js';
import { jobRequestOf, resolveJob, type JobCapabilities } from '../../../../src/pipelines/resolve-job.js';
import type { TextToImageJob } from '../../../../src/pipelines/text-to-image.js';
import { thrown } from '../../../helpers/thrown.js';

const defaults: ModelDefaults = { steps: 20, guidanceScale: 7.5, height: 64, width: 64, scheduler: 'PNDMScheduler' };
const base: JobCapabilities = { executor: 'webgpu', decoders: ['vae'], img2img: true, latentChannels: 4, vaeScaleFactor: 8 };
const sd: JobCapabilities = { ...base, a1111Prompts: true };
const sdxl: JobCapabilities = { ...base, sdxl: true, a1111Prompts: true };
const onnx: JobCapabilities = { ...base, executor: 'onnx' };
const resolve = (init: DiffusionRequestInit, c: JobCapabilities) => resolveJob(jobRequestOf(new DiffusionRequest(init)), defaults, c);

describe('promptSyntax', () => {
  it('is validated by the request', () => {
    const err = thrown(() => new DiffusionRequest({ prompt: 'p', promptSyntax: 'comfy' as 'plain' }));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toMatchObject({ field: 'promptSyntax', value: 'comfy' });
    expect(new DiffusionRequest({ prompt: 'p', promptSyntax: 'plain' }).toJSON().promptSyntax).toBe('plain');
  });

  it("defaults to 'a1111' where the model and executor read it, else to 'plain'", () => {
    expect(resolve({ prompt: 'p' }, sd).promptSyntax).toBe('a1111');
    expect(resolve({ prompt: 'p' }, sdxl).promptSyntax).toBe('a1111');
    expect(resolve({ prompt: 'p' }, onnx).promptSyntax).toBe('plain');
    expect(resolve({ prompt: 'p', promptSyntax: 'plain' }, sd).promptSyntax).toBe('plain');
  });

  it("refuses an explicit 'a1111' on an executor that does not read it, naming promptSyntax", () => {
    const err = thrown(() => resolve({ prompt: 'p', promptSyntax: 'a1111' }, onnx));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toMatchObject({ field: 'promptSyntax', value: 'a1111' });
    expect(err.message).toMatch(/onnx executor/);
  });

  it("checks SDXL's prompt2 and negativePrompt2 too", () => {
    for (const field of ['prompt2', 'negativePrompt2'] as const) {
      const err = thrown(() => resolve({ prompt: 'ok', [field]: 'bad (x:1.2.3)' }, sdxl));
      expect(err).toMatchObject({ field, value: 'bad (x:1.2.3)' });
    }
  });

  it('refuses a malformed (text:w) by its field, and reads it as text under plain', () => {
    const err = thrown(() => resolve({ prompt: 'ok', negativePrompt: 'bad (x:1.2.3)' }, sd));
    expect(err).toMatchObject({ field: 'negativePrompt', value: 'bad (x:1.2.3)' });
    expect(err.message).toMatch(/"1\.2\.3" is not one/);
    expect(resolve({ prompt: 'bad (x:1.2.3)', promptSyntax: 'plain' }, sd).prompt).toBe('bad (x:1.2.3)');
  });

  it('is refused by a prompt encoder without A1111 support (the onnx executor\'s) rather than read as plain', async () => {
    const encode = clipPromptEncoder(
      () => new Int32Array(77),
      () => 0,
    );
    const job = { prompt: 'p', negativePrompt: null, numImages: 1, promptSyntax: 'a1111' } as TextToImageJob;
    await expect(encode(job, false)).rejects.toMatchObject({ name: 'RequestValidationError', field: 'promptSyntax' });
  });
});
