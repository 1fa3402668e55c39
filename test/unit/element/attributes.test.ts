import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, engineKeyFromAttributes, initImageFromAttributes, requestFromAttributes } from '../../../src/element/attributes.js';
import { ElementAttributeError } from '../../../src/element/errors.js';

const BASE = 'https://site.test/app/page.html';

function reader(attrs: Record<string, string>) {
  return (name: string) => attrs[name] ?? null;
}

describe('element attributes', () => {
  it('turn into a request with numbers parsed and absent ones left to the model', () => {
    expect(
      requestFromAttributes(
        reader({ prompt: 'a <b>cat</b>', 'negative-prompt': 'blur', steps: '4', guidance: '7.5', seed: '0', width: '64', height: '128', scheduler: 'euler', decoder: 'taesd', 'prompt-syntax': 'plain' }),
      ),
    ).toEqual({ prompt: 'a <b>cat</b>', negativePrompt: 'blur', numInferenceSteps: 4, guidanceScale: 7.5, seed: 0, width: 64, height: 128, scheduler: 'euler', decoder: 'taesd', promptSyntax: 'plain' });
    expect(requestFromAttributes(reader({}))).toEqual({ prompt: '' });
  });

  it.each([
    ['steps', 'two', 'a positive integer'],
    ['steps', '0', 'a positive integer'],
    ['seed', '-1', 'a non-negative integer'],
    ['width', '60', 'a positive multiple of 8'],
    ['guidance', 'lots', 'a finite number'],
    ['decoder', 'jpeg', '"vae" or "taesd"'],
    ['prompt-syntax', 'comfy', '"a1111" or "plain"'],
  ])('reject %s="%s" naming the attribute and what it expects', (attribute, value, expected) => {
    const attempt = () => requestFromAttributes(reader({ [attribute]: value }));
    expect(attempt).toThrow(ElementAttributeError);
    expect(attempt).toThrow(`attribute "${attribute}" = ${JSON.stringify(value)}: expected ${expected}.`);
  });

  it('read img2img settings: init-image resolved against the page, strength in (0, 1]', () => {
    expect(initImageFromAttributes(reader({ 'init-image': 'img/cat.png', strength: '0.35' }), BASE)).toEqual({ url: 'https://site.test/app/img/cat.png', strength: 0.35 });
    expect(initImageFromAttributes(reader({ 'init-image': 'data:image/png;base64,iVBO' }), BASE)).toEqual({ url: 'data:image/png;base64,iVBO', strength: undefined });
    expect(initImageFromAttributes(reader({ strength: '1' }), BASE)).toEqual({ url: null, strength: 1 });
    expect(initImageFromAttributes(reader({}), BASE)).toEqual({ url: null, strength: undefined });
  });

  it.each([
    ['strength', '0', 'a number in (0, 1]'],
    ['strength', '1.5', 'a number in (0, 1]'],
    ['strength', 'half', 'a number in (0, 1]'],
    ['init-image', 'javascript:alert(1)', 'the URL of an image (http(s), data: or blob:)'],
  ])('reject %s="%s" naming the attribute and what it expects', (attribute, value, expected) => {
    const attempt = () => initImageFromAttributes(reader({ [attribute]: value }), BASE);
    expect(attempt).toThrow(ElementAttributeError);
    expect(attempt).toThrow(`attribute "${attribute}" = ${JSON.stringify(value)}: expected ${expected}.`);
  });

  it('resolve relative model and endpoint URLs against the page, and keep Hub ids', () => {
    expect(engineKeyFromAttributes(reader({ model: './models/tiny/', endpoint: '/api/' }), BASE)).toEqual({
      model: 'https://site.test/app/models/tiny/',
      executor: 'webgpu',
      endpoint: 'https://site.test/api',
      dtype: 'auto',
      variant: null,
      taesd: null,
    });
    expect(engineKeyFromAttributes(reader({ model: 'stabilityai/sd-turbo', variant: 'fp16' }), BASE)).toMatchObject({ model: 'stabilityai/sd-turbo', variant: 'fp16' });
    // decoder="taesd" loads the TAESD of the model's family beside it (a separate engine from the VAE's).
    expect(engineKeyFromAttributes(reader({ model: 'stabilityai/sdxl-turbo', decoder: 'taesd' }), BASE).taesd).toBe('auto');
    expect(engineKeyFromAttributes(reader({}), BASE).model).toBe(DEFAULT_MODEL);
  });

  it('refuse an unknown executor, a non-http endpoint, and executor="http" without an endpoint', () => {
    expect(() => engineKeyFromAttributes(reader({ executor: 'cuda' }), BASE)).toThrow('attribute "executor" = "cuda"');
    expect(() => engineKeyFromAttributes(reader({ endpoint: 'javascript:alert(1)' }), BASE)).toThrow('attribute "endpoint"');
    expect(() => engineKeyFromAttributes(reader({ executor: 'http' }), BASE)).toThrow('executor="http" needs one');
    expect(() => engineKeyFromAttributes(reader({ dtype: 'f64' }), BASE)).toThrow('attribute "dtype" = "f64"');
  });
});
