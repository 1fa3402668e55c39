import { describe, expect, it } from 'vitest';
import { DiffusionConfig, DiffusionEngine, DiffusionRequest } from '../../../src/index.js';
import { fixturePath } from '../../helpers/fixtures.js';

describe('seed doc Example 1: the default executor, end to end', () => {
  it('creates an engine without executorClass, steps one request and closes', async () => {
    const config = new DiffusionConfig({ modelClassName: 'StableDiffusionPipeline', modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), numGpus: 1 });
    const engine = await DiffusionEngine.create(config);
    expect(engine.executorName).toBe('webgpu');
    const outputs = await engine.step([new DiffusionRequest({ prompt: 'A beautiful landscape', width: 64, height: 64, numInferenceSteps: 1 })]);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]!.error).toBeNull();
    expect(outputs[0]!.images[0]).toMatchObject({ width: 64, height: 64 });
    await engine.close();
  });
});
