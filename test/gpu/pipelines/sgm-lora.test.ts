import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import { loadFixture, type PipelineFixture } from '../../../tools/verify/fixture/fixture.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { buildSgmLoraPair, SDXL_TINY_SGM_MODULES } from '../../helpers/sdxl-sgm-lora.js';

// The SDXL base pipeline, and one LoRA over its UNet and both text encoders in two namings.
const baseDir = fixturePath('pipeline-sdxl-tiny');
const fx = (await loadFixture(baseDir)) as PipelineFixture;
const pair = await buildSgmLoraPair(baseDir, SDXL_TINY_SGM_MODULES, 7);

describe('kohya SDXL LoRAs with original-UNet (SGM) names through DiffusionEngine (webgpu, Dawn)', () => {
  let engine: DiffusionEngine;
  const request: DiffusionRequestInit = {
    prompt: fx.prompt,
    negativePrompt: fx.negativePrompt,
    numInferenceSteps: fx.numInferenceSteps,
    guidanceScale: fx.guidanceScale,
    height: fx.height,
    width: fx.width,
    seed: 3,
  };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: baseDir, dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  const image = (out: DiffusionOutput | undefined): number[] => {
    expect(out?.error ?? null).toBeNull();
    return Array.from(out!.images[0]!.data);
  };

  it('gives the image of the same LoRA in diffusers naming, and not the image without it', async () => {
    const [base, sgm, diffusers] = await engine.step([
      { ...request },
      { ...request, loras: [{ source: pair.kohya, scale: 0.5 }] },
      { ...request, loras: [{ source: pair.diffusers, scale: 0.5 }] },
    ]);
    const withSgm = image(sgm);
    const without = image(base);
    expect(withSgm).toEqual(image(diffusers));
    const moved = withSgm.reduce((m, v, i) => Math.max(m, Math.abs(v - without[i]!)), 0);
    expect(moved).toBeGreaterThan(0.01);
  });
});
