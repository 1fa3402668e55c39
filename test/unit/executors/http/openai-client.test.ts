import { describe, expect, it } from 'vitest';
import { DiffusionRequest, RequestValidationError } from '../../../../src/index.js';
import { openaiImagesApi } from '../../../../src/executors/http/openai-client.js';

describe('openaiImagesApi.buildBody', () => {
  it('sends guidance 0 and an empty negative prompt, since they were set', () => {
    const body = openaiImagesApi.buildBody(new DiffusionRequest({ prompt: 'p', guidanceScale: 0, negativePrompt: '' }), null);
    expect(body).toEqual({ prompt: 'p', n: 1, response_format: 'b64_json', guidance_scale: 0, negative_prompt: '' });
  });

  it('does not send the scheduler, which the API has no field for', () => {
    expect(openaiImagesApi.buildBody(new DiffusionRequest({ prompt: 'p', scheduler: 'euler' }), 'm')).toEqual({ prompt: 'p', n: 1, response_format: 'b64_json', model: 'm' });
  });

  it('throws RequestValidationError naming the missing side when only one of width and height is set', () => {
    expect(() => openaiImagesApi.buildBody(new DiffusionRequest({ prompt: 'p', height: 64 }), null)).toThrow(RequestValidationError);
    expect(() => openaiImagesApi.buildBody(new DiffusionRequest({ prompt: 'p', height: 64 }), null)).toThrow(/DiffusionRequest\.width/);
  });
});

describe('openaiImagesApi.readImages', () => {
  it('takes the first n b64_json entries', () => {
    const body = { created: 1, data: [{ b64_json: 'a' }, { b64_json: 'b' }] };
    expect(openaiImagesApi.readImages(body, new DiffusionRequest({ prompt: 'p' }))).toEqual({ images: ['a'], seeds: null });
  });

  it('names a body that is not an object and an entry that is null', () => {
    expect(() => openaiImagesApi.readImages('oops', new DiffusionRequest({ prompt: 'p' }))).toThrow(/no "data" array/);
    expect(() => openaiImagesApi.readImages({ data: [null] }, new DiffusionRequest({ prompt: 'p' }))).toThrow(/data\[0\] has no "b64_json" string$/);
  });
});
