import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionImage, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import { repoRoot } from '../../helpers/fixtures.js';

function images(out: DiffusionOutput | undefined): DiffusionImage[] {
  expect(out?.error ?? null).toBeNull();
  return out!.images;
}

const pixels = (image: DiffusionImage): number[] => Array.from(image.data);

describe("DDIM's eta through DiffusionEngine (webgpu, Node + Dawn, tiny-shapes)", () => {
  let engine: DiffusionEngine;
  const base: DiffusionRequestInit = { prompt: 'a large green square on a white background', numInferenceSteps: 6, scheduler: 'ddim', seed: 21 };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('adds noise drawn from each image’s seed: reproducible, per image within a batch, and unlike eta 0', async () => {
    const [deterministic, noisy, again, batch, second] = await engine.step([
      { ...base },
      { ...base, eta: 1 },
      { ...base, eta: 1 },
      { ...base, eta: 1, numOutputsPerPrompt: 2 },
      { ...base, eta: 1, seed: 22 },
    ]);
    const [plain] = images(deterministic);
    const [first] = images(noisy);
    expect(pixels(images(again)[0]!)).toEqual(pixels(first!));
    expect(pixels(first!)).not.toEqual(pixels(plain!));
    const pair = images(batch);
    expect(pixels(pair[0]!)).toEqual(pixels(first!));
    expect(pixels(pair[1]!)).toEqual(pixels(images(second)[0]!));
  });

  it('fails eta above 0 on a scheduler without it, naming eta and the scheduler, and stays usable', async () => {
    const [bad, good] = await engine.step([
      { ...base, scheduler: 'euler', eta: 0.5 },
      { ...base, scheduler: 'euler', eta: 0 },
    ]);
    expect(bad!.images).toEqual([]);
    expect(bad!.errorName).toBe('RequestValidationError');
    expect(bad!.error).toMatch(/eta = 0\.5: expected 0 with EulerDiscreteScheduler/);
    expect(images(good)).toHaveLength(1);
  });
});
