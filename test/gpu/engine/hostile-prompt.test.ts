import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine } from '../../../src/index.js';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * A prompt of 1 MB reaches the tokenizer when the engine runs in-process (Node users, `generate`):
 * before issue 17 one single word of that size took 317 s of BPE, with the event loop blocked.
 * Now it is truncated as diffusers does, and costs what a short prompt costs.
 */
describe('DiffusionEngine (webgpu, in-process) with a 1 MB prompt', () => {
  let engine: DiffusionEngine;
  let shortMs: number;

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32', worker: false });
    await engine.generate({ prompt: 'a red circle', numInferenceSteps: 2, seed: 1 });
    const started = performance.now();
    await engine.generate({ prompt: 'a red circle', numInferenceSteps: 2, seed: 1 });
    shortMs = performance.now() - started;
  });

  afterAll(async () => {
    await engine?.close();
  });

  for (const [name, prompt] of [
    ['one word', 'a'.repeat(1_000_000)],
    ['punctuation', '!?'.repeat(500_000)],
    ['many words', 'red circle '.repeat(91_000)],
  ] as const) {
    it(`${name}: generates in about the time of a short prompt`, async () => {
      const started = performance.now();
      const out = await engine.generate({ prompt, numInferenceSteps: 2, seed: 1 });
      const ms = performance.now() - started;
      expect(out.images).toHaveLength(1);
      expect(ms).toBeLessThan(2 * shortMs + 1000);
    });
  }
});
