import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import { fixturePath } from '../../helpers/fixtures.js';

/** pipeline-sdxl-tiny: text_encoder's width, text_encoder_2's, and its projection. */
const D1 = 8;
const D2 = 12;
const D = D1 + D2;
const P = 10;
const L = 77;
const BOS = 49406;
const EOS = 49407;

/** The `[rows, positions, D1 + D2]` embedding's encoder part: `first` is text_encoder's D1 features, else text_encoder_2's D2. */
function part(embeds: Float32Array, first: boolean): Float64Array {
  const positions = embeds.length / D;
  const width = first ? D1 : D2;
  const out = new Float64Array(positions * width);
  for (let p = 0; p < positions; p++) for (let c = 0; c < width; c++) out[p * width + c] = embeds[p * D + (first ? c : D1 + c)]!;
  return out;
}

/** lpw's mean-restoring weighting in float64: `E · w[position] · (mean(E) / mean(E · w))`. */
function meanRestored(e: Float64Array, weights: readonly number[]): Float64Array {
  const width = e.length / weights.length;
  const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / x.length;
  const weighted = e.map((v, i) => v * weights[Math.floor(i / width)]!);
  const factor = mean(e) / mean(weighted);
  return weighted.map((v) => v * factor);
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('A1111 prompt syntax on SDXL through DiffusionEngine (webgpu, Dawn, pipeline-sdxl-tiny)', () => {
  let engine: DiffusionEngine;
  const request: DiffusionRequestInit = { prompt: 'a red fox in the snow', negativePrompt: 'blurry', numInferenceSteps: 1, guidanceScale: 5, height: 64, width: 64, seed: 5, returnIntermediates: true };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sdxl-tiny'), dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  const intermediates = (out: DiffusionOutput | undefined) => {
    expect(out?.error ?? null).toBeNull();
    return out!.intermediates!;
  };

  it('is the default, and leaves a plain prompt bit-identical to promptSyntax plain (both encoders, pooled, ids)', async () => {
    const [byDefault, a1111, plain] = (await engine.step([{ ...request }, { ...request, promptSyntax: 'a1111' }, { ...request, promptSyntax: 'plain' }])).map(intermediates);
    for (const x of [byDefault!, a1111!]) {
      expect(x.promptEmbeds).toEqual(plain!.promptEmbeds);
      expect(x.negativePromptEmbeds).toEqual(plain!.negativePromptEmbeds);
      expect(x.pooledPromptEmbeds).toEqual(plain!.pooledPromptEmbeds);
      expect(x.inputIds).toEqual(plain!.inputIds);
      expect(x.inputIds2).toEqual(plain!.inputIds2);
    }
  });

  it("weights each encoder's states on its own, as lpw does, and leaves the pooled embedding unweighted", async () => {
    // A trailing BREAK pads the one window as lpw does, at weight 1: lpw's unweighted states.
    const [weighted, unweighted] = (
      await engine.step([
        { ...request, prompt: '(a red fox in the snow:1.5)' },
        { ...request, prompt: 'a red fox in the snow BREAK' },
      ])
    ).map(intermediates);
    expect(weighted!.promptEmbeds.length).toBe(L * D);
    // The prompt row's ids (after the negative row): its text tokens take 1.5, BOS, EOS and padding 1.
    const ids = Array.from(weighted!.inputIds).slice(-L);
    expect(ids).toEqual(Array.from(unweighted!.inputIds).slice(-L));
    const weights = ids.map((id) => (id === BOS || id === EOS ? 1 : 1.5));
    expect(weights.filter((w) => w === 1.5).length).toBeGreaterThan(3);
    for (const first of [true, false]) {
      const expected = meanRestored(part(unweighted!.promptEmbeds, first), weights);
      expect(maxDiff(part(weighted!.promptEmbeds, first), expected)).toBeLessThan(2e-5);
      // Not the unweighted states: the weighting did something.
      expect(maxDiff(part(weighted!.promptEmbeds, first), part(unweighted!.promptEmbeds, first))).toBeGreaterThan(1e-3);
    }
    expect(weighted!.pooledPromptEmbeds).toEqual(unweighted!.pooledPromptEmbeds);
    expect(weighted!.negativePromptEmbeds).toEqual(unweighted!.negativePromptEmbeds);
  });

  it('gives both encoders the same window count (the longer of prompt and prompt2), the negative rows too; pooled from the first window', async () => {
    const words = (n: number) => Array<string>(n).fill('cat').join(' ');
    const [long, short, zeroNegative, firstWindow] = (
      await engine.step([
        { ...request, prompt: 'a cat', prompt2: words(100) },
        { ...request, prompt: 'a cat', prompt2: 'cat cat BREAK' },
        { ...request, prompt: words(160), negativePrompt: undefined },
        // 75 tokens fill [BOS, 75, EOS] with no padding: lpw's first window of the long prompt2, exactly.
        { ...request, prompt: 'a cat', prompt2: words(75), promptSyntax: 'plain' },
      ])
    ).map(intermediates);
    expect(maxDiff(long!.pooledPromptEmbeds!, firstWindow!.pooledPromptEmbeds!)).toBeLessThan(1e-5);
    expect(maxDiff(part(long!.promptEmbeds, false).subarray(0, L * D2), part(firstWindow!.promptEmbeds, false))).toBeLessThan(1e-5);
    expect(long!.promptEmbeds.length).toBe(2 * L * D);
    expect(long!.negativePromptEmbeds!.length).toBe(2 * L * D);
    expect(long!.inputIds.length).toBe(2 * 2 * L);
    expect(long!.inputIds2!.length).toBe(2 * 2 * L);
    expect(long!.pooledPromptEmbeds!.length).toBe(P);
    // prompt2's first window holds 75 of its "cat"s; the short prompt2's window its two, padded by BREAK:
    // causal attention makes their first three positions (BOS, cat, cat) the same.
    const firstPositions = (x: Float32Array) => part(x, false).subarray(0, 3 * D2);
    expect(maxDiff(firstPositions(long!.promptEmbeds), firstPositions(short!.promptEmbeds))).toBeLessThan(1e-5);
    // The first encoder's window 0 is "a cat" in both; its second window is padding alone.
    expect(maxDiff(part(long!.promptEmbeds, true).subarray(0, L * D1), part(short!.promptEmbeds, true))).toBeLessThan(1e-5);
    // No negative prompt on a model that forces zeros: zero rows as long as the prompt's 3 windows.
    expect(zeroNegative!.promptEmbeds.length).toBe(3 * L * D);
    expect(zeroNegative!.negativePromptEmbeds!.length).toBe(3 * L * D);
    expect(zeroNegative!.negativePromptEmbeds!.every((v) => v === 0)).toBe(true);
    expect(zeroNegative!.negativePooledPromptEmbeds!.every((v) => v === 0)).toBe(true);
    for (const x of [long, short, zeroNegative]) expect(x!.promptEmbeds.every(Number.isFinite)).toBe(true);
  });

  it('refuses a malformed weight in prompt2 by its field, before any work', async () => {
    const [bad] = await engine.step([{ ...request, prompt2: '(word:1.2.3)' }]);
    expect(bad!.errorName).toBe('RequestValidationError');
    expect(bad!.error).toMatch(/prompt2/);
  });
});
