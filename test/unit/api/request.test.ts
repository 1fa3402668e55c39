import { describe, expect, it } from 'vitest';
import { DEFAULT_STRENGTH, DiffusionRequest, RequestValidationError, type DiffusionRequestInit } from '../../../src/index.js';

const base: DiffusionRequestInit = { prompt: 'a red circle' };

function rgba(width: number, height: number): { width: number; height: number; data: Uint8ClampedArray } {
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

describe('DiffusionRequest validation', () => {
  it.each<[string, Partial<DiffusionRequestInit> | Record<string, unknown>, RegExp]>([
    ['prompt', { prompt: 42 }, /prompt = 42: expected a string/],
    ['prompt', { prompt: undefined }, /prompt = undefined/],
    ['negativePrompt', { negativePrompt: 3 }, /negativePrompt = 3/],
    ['numInferenceSteps', { numInferenceSteps: 0 }, /numInferenceSteps = 0: expected a positive integer/],
    ['numInferenceSteps', { numInferenceSteps: 2.5 }, /numInferenceSteps = 2.5/],
    ['guidanceScale', { guidanceScale: Number.NaN }, /guidanceScale = NaN: expected a finite number/],
    ['guidanceScale', { guidanceScale: Infinity }, /guidanceScale = Infinity/],
    ['height', { height: 100 }, /height = 100: expected a positive integer multiple of 8/],
    ['height', { height: -8 }, /height = -8/],
    ['width', { width: 0 }, /width = 0/],
    ['width', { width: '512' }, /width = "512"/],
    ['seed', { seed: -1 }, /seed = -1/],
    ['seed', { seed: 1.5 }, /seed = 1.5/],
    ['seed', { seed: Number.MAX_SAFE_INTEGER, numOutputsPerPrompt: 4 }, /seed = 9007199254740991: expected at most 9007199254740988 with 4 images/],
    ['numOutputsPerPrompt', { numOutputsPerPrompt: 0 }, /numOutputsPerPrompt = 0/],
    ['scheduler', { scheduler: '' }, /scheduler = ""/],
    ['requestId', { requestId: 7 }, /requestId = 7/],
    ['returnTrajectoryLatents', { returnTrajectoryLatents: 'yes' }, /returnTrajectoryLatents = "yes"/],
    ['returnIntermediates', { returnIntermediates: 1 }, /returnIntermediates = 1/],
    ['strength', { strength: 0 }, /strength = 0: expected a number in \(0, 1\]/],
    ['strength', { strength: 1.5 }, /strength = 1.5/],
    ['strength', { strength: Number.NaN, image: rgba(8, 8) }, /strength = NaN/],
    ['strength', { strength: 0.5 }, /strength = 0.5: expected absent without image/],
    ['decoder', { decoder: 'jpeg' }, /decoder = "jpeg"/],
    ['eta', { eta: -0.1 }, /eta = -0.1: expected a number in \[0, 1\]/],
    ['eta', { eta: 1.5 }, /eta = 1.5/],
    ['eta', { eta: '0.5' }, /eta = "0.5": expected a finite number/],
    ['image', { image: { width: 2, height: 2, data: new Uint8ClampedArray(3) } }, /image = \[object\]/],
    ['image', { image: { width: 8, height: 8, data: new Array(256).fill(0) } }, /image = \[object\]: expected RGBA pixels/],
    ['image', { image: rgba(12, 8) }, /image = \[object\]: expected an image whose sides are positive multiples of 8 \(it is 12x8\)/],
    ['image', { image: rgba(16, 8), width: 16, height: 16 }, /expected an image of the request's size 16x16 \(it is 16x8\)/],
    ['image', { image: rgba(16, 8), width: 8 }, /size 8x8 \(it is 16x8\)/],
    ['latents', { image: rgba(8, 8), latents: new Float32Array(4) }, /latents = \[Float32Array\]: expected absent with image/],
    ['signal', { signal: {} }, /signal = \[object\]/],
    ['latents', { latents: [0, 1] }, /latents = array\(2\)/],
    ['latents', { latents: new Float32Array([Number.NaN]) }, /latents = \[Float32Array\]: expected a non-empty Float32Array of finite values/],
    ['onProgress', { onProgress: 'cb' }, /onProgress = "cb"/],
    ['prompt2', { prompt2: 3 }, /prompt2 = 3: expected a string or null/],
    ['negativePrompt2', { negativePrompt2: ['x'] }, /negativePrompt2 = array\(1\)/],
    ['originalSize', { originalSize: [1024] }, /originalSize = array\(1\): expected two integers in \[1, 65536\]/],
    ['originalSize', { originalSize: [0, 64] }, /originalSize = array\(2\)/],
    ['targetSize', { targetSize: [64, 64.5] }, /targetSize = array\(2\)/],
    ['cropsCoordsTopLeft', { cropsCoordsTopLeft: [-1, 0] }, /cropsCoordsTopLeft = array\(2\): expected two integers in \[0, 65536\]/],
    ['stepNoise', { stepNoise: [] }, /stepNoise = array\(0\): expected a non-empty array/],
    ['stepNoise', { stepNoise: [[0, 1]] }, /stepNoise = array\(1\)/],
    ['stepNoise', { stepNoise: [new Float32Array([Number.POSITIVE_INFINITY])] }, /stepNoise = array\(1\)/],
    ['stepNoise', { image: rgba(8, 8), stepNoise: [new Float32Array(4)] }, /stepNoise = array\(1\): expected absent with image/],
  ])('rejects a bad %s with a typed error naming the field and the value', (field, patch, message) => {
    let err: unknown;
    try {
      new DiffusionRequest({ ...base, ...(patch as object) } as DiffusionRequestInit);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as RequestValidationError).field).toBe(field);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects a non-object request', () => {
    expect(() => new DiffusionRequest(null as never)).toThrow(RequestValidationError);
  });

  it('accepts a full valid request and fills defaults', () => {
    const r = new DiffusionRequest({
      prompt: 'p',
      negativePrompt: 'blurry',
      numInferenceSteps: 4,
      guidanceScale: 7.5,
      height: 64,
      width: 48,
      seed: 0,
      numOutputsPerPrompt: 2,
      scheduler: 'ddim',
      eta: 0.5,
      returnTrajectoryLatents: true,
      image: rgba(48, 64),
      strength: 0.5,
      decoder: 'taesd',
      signal: new AbortController().signal,
    });
    expect(r).toMatchObject({ width: 48, height: 64, seed: 0, numOutputsPerPrompt: 2, decoder: 'taesd', eta: 0.5 });
    const d = new DiffusionRequest({ prompt: '' });
    expect(d.numOutputsPerPrompt).toBe(1);
    expect(d.negativePrompt).toBeNull();
    expect(d.returnTrajectoryLatents).toBe(false);
    expect(d.returnIntermediates).toBe(false);
    expect(d.requestId).toMatch(/^req-\d+$/);
  });

  it('takes the size of an img2img request from its image, which may be RGBA bytes of any Uint8 kind', () => {
    const r = new DiffusionRequest({ ...base, image: { width: 16, height: 8, data: new Uint8Array(16 * 8 * 4) } });
    expect(r).toMatchObject({ width: 16, height: 8 });
    expect(r.strength).toBeUndefined();
    expect(DEFAULT_STRENGTH).toBe(0.8);
    expect(new DiffusionRequest({ ...base, image: rgba(8, 8), strength: 1 }).strength).toBe(1);
  });

  it('gives every request a distinct id', () => {
    expect(new DiffusionRequest(base).requestId).not.toBe(new DiffusionRequest(base).requestId);
  });

  it('serialises without its signal and callback', () => {
    const json = new DiffusionRequest({ ...base, onProgress: () => undefined, signal: new AbortController().signal }).toJSON();
    expect(json).not.toHaveProperty('signal');
    expect(json).not.toHaveProperty('onProgress');
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({ prompt: 'a red circle' });
  });
});
