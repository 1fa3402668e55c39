import { describe, expect, it } from 'vitest';
import { OmniDiffusionError, RequestValidationError } from '../../../src/api/errors.js';
import { ModelConfigError } from '../../../src/models/errors.js';
import { DiagonalGaussian } from '../../../src/models/vae/diagonal-gaussian.js';
import type { DiffusionComponents } from '../../../src/pipelines/components.js';
import { runTextToImage, type TextToImageJob } from '../../../src/pipelines/text-to-image.js';
import { clipPromptEncoder } from '../../../src/pipelines/conditioning.js';
import { hostLatents, type HostTensor } from '../../../src/schedulers/latents.js';
import { createScheduler } from '../../../src/schedulers/registry.js';

type Network = 'encodeText' | 'unet' | 'decode' | 'encodeImage';

/**
 * Host-tensor components with stand-in networks (zeros of the right shape): SD's 4 latent
 * channels at a VAE scale of 8 unless `overrides` say otherwise. Each network call is logged in
 * `calls`. Jobs here run without guidance, so the batch is never split or joined.
 */
/** The fake components, and the text encoder the loop's prompt encoder calls. */
type FakeComponents = DiffusionComponents<HostTensor> & { encodeText(ids: Int32Array, batch: number): HostTensor };

function components(calls: Network[], overrides: Partial<DiffusionComponents<HostTensor>> = {}): FakeComponents {
  const zeros = (shape: number[]): HostTensor => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const unused = (): never => {
    throw new Error('not used without guidance');
  };
  return {
    latents: hostLatents,
    latentChannels: 4,
    vaeScaleFactor: 8,
    sampleSize: 8,
    decoders: ['vae'],
    encodeText: (ids, batch) => {
      calls.push('encodeText');
      return zeros([batch, ids.length / batch, 8]);
    },
    unet: (sample) => {
      calls.push('unet');
      return zeros([...sample.shape]);
    },
    decode: (latents) => {
      calls.push('decode');
      const [B, , h, w] = latents.shape as [number, number, number, number];
      return zeros([B, 3, h * 8, w * 8]);
    },
    sliceBatch: unused,
    concatBatch: unused,
    ...overrides,
  };
}

const job: TextToImageJob = {
  prompt: 'p',
  negativePrompt: null,
  numInferenceSteps: 2,
  guidanceScale: 1,
  height: 64,
  width: 64,
  seed: 3,
  numImages: 1,
  decoder: 'vae',
  returnTrajectoryLatents: false,
};

/** An img2img job on a `size`² init image of `values` values (the right count when left out). */
const img2img = (size = 64, values = 3 * size * size): TextToImageJob => ({ ...job, height: size, width: size, init: { image: new Float32Array(values), strength: 1 } });

const run = (c: FakeComponents, j: TextToImageJob) =>
  runTextToImage(c, clipPromptEncoder((prompts) => new Int32Array(prompts.length * 77), (ids, batch) => c.encodeText(ids, batch)), createScheduler('DDIMScheduler'), j);

/** The error `run` rejects with; fails the test when it resolves. */
const refusal = (c: FakeComponents, j: TextToImageJob): Promise<Error> =>
  run(c, j).then(
    () => expect.fail('expected the job to be refused'),
    (e: unknown) => e as Error,
  );

describe('runTextToImage refuses, with typed errors, a job its components cannot run', () => {
  it('initial latents of the wrong size: RequestValidationError naming latents, before any network runs', async () => {
    const calls: Network[] = [];
    const err = await refusal(components(calls), { ...job, latents: new Float32Array(3) });
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toBeInstanceOf(OmniDiffusionError);
    expect(err).toMatchObject({ code: 'REQUEST_INVALID', field: 'latents' });
    expect(err.message).toBe('Invalid DiffusionRequest.latents = [Float32Array]: expected 256 values, the shape [1, 4, 8, 8] of the initial noise.');
    expect(calls).toEqual([]);
  });

  it('runs with initial latents of the right size', async () => {
    const calls: Network[] = [];
    await run(components(calls), { ...job, latents: new Float32Array(256) });
    expect(calls).toEqual(['encodeText', 'unet', 'unet', 'decode']);
  });

  it('an init image that is not of the job size: RequestValidationError naming image', async () => {
    const err = await refusal(components([], { encodeImage: () => Promise.resolve(null) }), img2img(64, 3 * 32 * 32));
    expect(err).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(err.message).toContain("expected an image of the job's size 64x64 ([1, 3, 64, 64], 12288 values; it holds 3072)");
  });

  it('img2img on components that cannot encode an image: RequestValidationError naming image, saying where img2img runs', async () => {
    const calls: Network[] = [];
    const err = await refusal(components(calls), img2img());
    expect(err).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(err.message).toMatch(/expected absent: these components cannot encode an init image, so they run text-to-image only \(img2img runs on the webgpu, multiproc and external executors\)/);
    expect(calls).not.toContain('unet');
  });

  it('img2img on a pixel-space model whose UNet does not denoise RGB: RequestValidationError naming image', async () => {
    const c = components([], { vaeScaleFactor: 1, encodeImage: () => Promise.resolve(null) });
    const err = await refusal(c, img2img(8));
    expect(err).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(err.message).toContain('this model has no VAE and its UNet denoises [4, 8, 8], not an RGB image [3, 8, 8], so it cannot start from one');
  });

  it('a VAE whose latents are not the UNet latents: ModelConfigError naming vae/config.json latent_channels', async () => {
    // The VAE encodes to 3 channels, the UNet denoises 4.
    const encodeImage = () => Promise.resolve({ posterior: new DiagonalGaussian(new Float32Array(6 * 8 * 8), [1, 6, 8, 8]), scalingFactor: 0.18215, shiftFactor: 0 });
    const err = await refusal(components([], { encodeImage }), img2img());
    expect(err).toBeInstanceOf(ModelConfigError);
    expect(err).toMatchObject({ code: 'MODEL_CONFIG_INVALID', file: 'vae/config.json', field: 'latent_channels', value: 3 });
    expect(err.message).toContain('expected 4, the in_channels of unet/config.json: the VAE encodes the image to [1, 3, 8, 8], the UNet denoises [1, 4, 8, 8]');
  });
});
