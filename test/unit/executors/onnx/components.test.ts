import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestValidationError } from '../../../../src/api/errors.js';
import { loadOnnxStableDiffusion, ONNX_DECODER_HINT, type OnnxStableDiffusion } from '../../../../src/executors/onnx/components.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { clipPromptEncoder } from '../../../../src/pipelines/conditioning.js';
import { runTextToImage, type TextToImageJob } from '../../../../src/pipelines/text-to-image.js';
import { createScheduler } from '../../../../src/schedulers/registry.js';
import { fixturePath } from '../../../helpers/fixtures.js';

let model: OnnxStableDiffusion;

beforeAll(async () => {
  model = await loadOnnxStableDiffusion(new LocalFolderSource(fixturePath('pipeline-sdturbo-tiny-onnx')));
}, 60_000);

afterAll(async () => {
  await model?.components.release();
});

/** The error `promise` rejects with; fails the test when it resolves. */
const refusal = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => expect.fail('expected a refusal'),
    (e: unknown) => e as Error,
  );

/**
 * The executor refuses these by name before any work (see executor.test.ts); the components
 * refuse them with the same typed errors when the shared loop is driven directly (verify, tools).
 */
describe('OnnxDiffusionComponents, driven without the executor', () => {
  it("refuses a decoder other than the model's VAE with RequestValidationError naming decoder", async () => {
    const c = model.components;
    const err = await refusal(Promise.resolve().then(() => c.decode({ shape: [1, c.latentChannels, 8, 8], data: new Float32Array(c.latentChannels * 64) }, 'taesd')));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toMatchObject({ code: 'REQUEST_INVALID', field: 'decoder', value: 'taesd' });
    expect(err.message).toBe(`Invalid DiffusionRequest.decoder = "taesd": expected 'vae' (${ONNX_DECODER_HINT}).`);
  });

  it('refuses img2img, which it cannot encode an image for, with RequestValidationError naming image', async () => {
    const { components, tokenizer, schedulerConfig } = model;
    const size = 8 * components.vaeScaleFactor;
    const job: TextToImageJob = {
      prompt: 'p', negativePrompt: null, numInferenceSteps: 1, guidanceScale: 1, height: size, width: size, seed: 0, numImages: 1,
      decoder: 'vae', returnTrajectoryLatents: false, init: { image: new Float32Array(3 * size * size), strength: 1 },
    };
    const err = await refusal(runTextToImage(components, clipPromptEncoder((p) => tokenizer.call(p), (ids, rows) => components.encodeText(ids, rows)), createScheduler('EulerDiscreteScheduler', schedulerConfig), job));
    expect(err).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(err.message).toContain('these components cannot encode an init image, so they run text-to-image only');
  });
});
