import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import { fixturePath } from '../../helpers/fixtures.js';

/** The tiny SD 1.5 pipeline fixture: its text encoder's width. */
const HIDDEN = 32;

describe('A1111 prompt syntax through DiffusionEngine (webgpu, Dawn, pipeline-sd15-tiny)', () => {
  let engine: DiffusionEngine;
  const request: DiffusionRequestInit = { prompt: 'a red fox in the snow', numInferenceSteps: 1, guidanceScale: 7.5, height: 64, width: 64, seed: 3, returnIntermediates: true };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sd15-tiny'), dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  const intermediates = (out: DiffusionOutput | undefined) => {
    expect(out?.error ?? null).toBeNull();
    return out!.intermediates!;
  };

  it('gives a plain prompt (no emphasis, at most 75 tokens) bit-identical prompt_embeds to promptSyntax plain, with and without a negative prompt', async () => {
    const requests = [request, { ...request, negativePrompt: 'blurry, low quality' }].flatMap((r) => [
      { ...r, promptSyntax: 'a1111' as const },
      { ...r, promptSyntax: 'plain' as const },
      // Left out: a1111 on a one-encoder model on webgpu.
      { ...r },
    ]);
    const outs = await engine.step(requests);
    for (let i = 0; i < outs.length; i += 3) {
      const [a1111, plain, byDefault] = [outs[i], outs[i + 1], outs[i + 2]].map(intermediates);
      expect(a1111!.promptEmbeds).toEqual(plain!.promptEmbeds);
      expect(a1111!.negativePromptEmbeds).toEqual(plain!.negativePromptEmbeds);
      expect(a1111!.inputIds).toEqual(plain!.inputIds);
      expect(byDefault!.promptEmbeds).toEqual(a1111!.promptEmbeds);
      expect(a1111!.promptEmbeds.length).toBe(77 * HIDDEN);
    }
  });

  it('weights emphasis: (fox:1.5) moves prompt_embeds, plain reads it as text', async () => {
    const [weighted, asText, unweighted] = (
      await engine.step([
        { ...request, prompt: 'a red (fox:1.5) in the snow' },
        { ...request, prompt: 'a red (fox:1.5) in the snow', promptSyntax: 'plain' },
        { ...request, prompt: 'a red fox in the snow' },
      ])
    ).map(intermediates);
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    // Same tokens as the unweighted prompt (the brackets are syntax), other values.
    expect(weighted!.inputIds).toEqual(unweighted!.inputIds);
    expect(diff(weighted!.promptEmbeds, unweighted!.promptEmbeds)).toBeGreaterThan(1e-3);
    expect(asText!.inputIds).not.toEqual(unweighted!.inputIds);
  });

  it('runs a 100-token prompt in two windows (154 positions) and a 160-token one in three (231), the negative rows with them', async () => {
    const words = (n: number) => Array<string>(n).fill('cat').join(' ');
    const [two, three, plain] = (
      await engine.step([
        { ...request, prompt: words(100), negativePrompt: 'blurry' },
        { ...request, prompt: words(160) },
        { ...request, prompt: words(100), promptSyntax: 'plain' },
      ])
    ).map(intermediates);
    expect(two!.promptEmbeds.length).toBe(154 * HIDDEN);
    expect(two!.negativePromptEmbeds!.length).toBe(154 * HIDDEN);
    expect(two!.inputIds.length).toBe(2 * 2 * 77);
    expect(three!.promptEmbeds.length).toBe(231 * HIDDEN);
    expect(three!.negativePromptEmbeds!.length).toBe(231 * HIDDEN);
    expect(plain!.promptEmbeds.length).toBe(77 * HIDDEN);
    for (const out of [two, three]) expect(out!.promptEmbeds.every(Number.isFinite)).toBe(true);
    // The first window of the long prompt is the plain, truncated encoding (no weights, cut at 75 tokens).
    expect(two!.promptEmbeds.subarray(0, 77 * HIDDEN)).toEqual(plain!.promptEmbeds);
  });

  it('starts a new window at BREAK, each window the plain encoding of its part; "break" stays a word', async () => {
    const [broken, first, second, lower] = (
      await engine.step([
        { ...request, prompt: 'a red fox BREAK in the snow' },
        { ...request, prompt: 'a red fox', promptSyntax: 'plain' },
        { ...request, prompt: 'in the snow', promptSyntax: 'plain' },
        { ...request, prompt: 'a red fox break in the snow' },
      ])
    ).map(intermediates);
    const L = 77;
    const last = (ids: ArrayLike<number>, n: number) => Array.from(ids).slice(-n);
    expect(broken!.promptEmbeds.length).toBe(2 * L * HIDDEN);
    expect(lower!.promptEmbeds.length).toBe(L * HIDDEN);
    // The prompt's row (after the negative one): its two windows are the two plain rows.
    expect(last(broken!.inputIds, 2 * L)).toEqual([...last(first!.inputIds, L), ...last(second!.inputIds, L)]);
    // All weights are 1, so the mean restoration leaves the windows as encoded (the encoder ran on other batch sizes).
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(diff(broken!.promptEmbeds.subarray(0, L * HIDDEN), first!.promptEmbeds)).toBeLessThan(1e-5);
    expect(diff(broken!.promptEmbeds.subarray(L * HIDDEN), second!.promptEmbeds)).toBeLessThan(1e-5);
  });

  it('refuses a malformed weight by the field that holds it, before any work', async () => {
    const [bad] = await engine.step([{ ...request, negativePrompt: '(word:1.2.3)' }]);
    expect(bad!.errorName).toBe('RequestValidationError');
    expect(bad!.error).toMatch(/negativePrompt/);
    expect(bad!.error).toMatch(/1\.2\.3/);
  });
});

describe('A1111 prompt syntax on an SD 2.x tokenizer (pad "!", not EOS): pipeline-sdturbo-tiny', () => {
  let engine: DiffusionEngine;

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('keeps a plain prompt bit-identical to promptSyntax plain, where lpw would put the padding before EOS', async () => {
    const request: DiffusionRequestInit = { prompt: 'a photo of a cat, soft light', negativePrompt: 'blurry', numInferenceSteps: 1, guidanceScale: 2, height: 64, width: 64, seed: 4, returnIntermediates: true };
    const [byDefault, plain, escaped] = await engine.step([{ ...request }, { ...request, promptSyntax: 'plain' }, { ...request, prompt: 'a photo of a cat\\, soft light' }]);
    expect(byDefault!.error ?? null).toBeNull();
    expect(byDefault!.intermediates!.promptEmbeds).toEqual(plain!.intermediates!.promptEmbeds);
    expect(byDefault!.intermediates!.negativePromptEmbeds).toEqual(plain!.intermediates!.negativePromptEmbeds);
    expect(byDefault!.intermediates!.inputIds).toEqual(plain!.intermediates!.inputIds);
    // A lone backslash is dropped (A1111's rule): the same text.
    expect(escaped!.intermediates!.promptEmbeds).toEqual(plain!.intermediates!.promptEmbeds);
  });
});
