import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '../../../src/api/errors.js';
import { takeLoraTags } from '../../../src/pipelines/lora/prompt-tags.js';

const names = { fox: 'loras/fox.safetensors', 'snow style': 'owner/repo/snow.safetensors' };

describe("A1111's <lora:…> prompt tags", () => {
  it.each([
    ['a fox <lora:fox:0.8>', 'a fox ', [{ source: names.fox, scale: 0.8 }]],
    ['<lora:fox>a fox', 'a fox', [{ source: names.fox, scale: 1 }]],
    ['a fox <lora:fox:0.5:1.2>, snow', 'a fox , snow', [{ source: names.fox, scale: 1.2, textEncoderScale: 0.5 }]],
    ['<lora:snow style:-0.3> and <lora:fox:1>', ' and ', [{ source: names['snow style'], scale: -0.3 }, { source: names.fox, scale: 1 }]],
    ['no tags (here) <lora>', 'no tags (here) <lora>', []],
  ])('%s', (prompt, text, loras) => {
    expect(takeLoraTags(prompt, names)).toEqual({ prompt: text, loras });
  });

  it.each([
    ['a <lora:wolf:1>', /<lora:wolf:1>.*one of DiffusionConfig\.loraNames \(fox, snow style\)/],
    ['a <lora:fox:abc>', /numeric multipliers/],
    ['a <lora:fox:>', /numeric multipliers/],
  ])('refuses %s naming the prompt', (prompt, message) => {
    let err: unknown = null;
    try {
      takeLoraTags(prompt, names);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestValidationError);
    expect((err as RequestValidationError).field).toBe('prompt');
    expect((err as Error).message).toMatch(message);
  });

  it('says none are configured when the map is empty', () => {
    expect(() => takeLoraTags('<lora:fox:1>', {})).toThrow(/none configured/);
  });
});
