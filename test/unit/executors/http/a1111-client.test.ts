import { describe, expect, it } from 'vitest';
import { DiffusionRequest } from '../../../../src/index.js';
import { a1111Api, a1111SamplerName } from '../../../../src/executors/http/a1111-client.js';
import { UnexpectedResponseError } from '../../../../src/executors/http/errors.js';

describe('a1111SamplerName', () => {
  it('maps our short names and diffusers class names to the web UI sampler names, case-insensitively', () => {
    expect(['euler', 'EulerDiscreteScheduler', 'euler_a', 'EulerAncestralDiscreteScheduler', 'DDIM', 'pndm', 'dpm++2m', 'LCMScheduler'].map(a1111SamplerName)).toEqual([
      'Euler',
      'Euler',
      'Euler a',
      'Euler a',
      'DDIM',
      'PLMS',
      'DPM++ 2M',
      'LCM',
    ]);
  });

  it('passes names it does not know through, so any web UI sampler can be chosen', () => {
    expect(a1111SamplerName('DPM++ SDE Karras')).toBe('DPM++ SDE Karras');
  });
});

describe('a1111Api.readImages', () => {
  const request = new DiffusionRequest({ prompt: 'x', numOutputsPerPrompt: 2 });

  it('starts at info.index_of_first_image and reads the seeds from info.all_seeds', () => {
    const info = JSON.stringify({ all_seeds: [5, 6], index_of_first_image: 1 });
    expect(a1111Api.readImages({ images: ['grid', 'a', 'b', 'extra'], info }, request)).toEqual({ images: ['a', 'b'], seeds: [5, 6] });
  });

  it('takes the images from the start and reports no seeds when info is missing or unreadable', () => {
    expect(a1111Api.readImages({ images: ['a', 'b'] }, request)).toEqual({ images: ['a', 'b'], seeds: null });
    expect(a1111Api.readImages({ images: ['a', 'b'], info: '{not json' }, request)).toEqual({ images: ['a', 'b'], seeds: null });
  });

  it('throws UnexpectedResponseError naming a missing images array, a non-string image or too few images', () => {
    expect(() => a1111Api.readImages({ detail: 'x' }, request)).toThrow(new UnexpectedResponseError('the response has no "images" array'));
    expect(() => a1111Api.readImages({ images: ['a', 3] }, request)).toThrow(/images\[1\] is not a base64 string/);
    expect(() => a1111Api.readImages({ images: ['a'] }, request)).toThrow(/"images" holds only 1 of the 2 image\(s\) asked for/);
  });
});
