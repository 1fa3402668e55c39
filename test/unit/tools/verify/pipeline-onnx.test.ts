import { describe, expect, it } from 'vitest';
import { formatComparisons } from '../../../../tools/verify/compare.js';
import { runOnnxPipelineFixture } from '../../../../tools/verify/pipeline-onnx.js';
import { fixturePath } from '../../../helpers/fixtures.js';

describe('runOnnxPipelineFixture', () => {
  it('reproduces every tensor of the sdturbo ONNX pipeline fixture within its tolerances', async () => {
    const results = await runOnnxPipelineFixture(fixturePath('pipeline-sdturbo-tiny-onnx'));
    expect(results.map((r) => r.name)).toEqual(['input_ids', 'prompt_embeds', 'initial_latents', 'unet_output_step_0', 'latents_step_0', 'final_latents', 'image']);
    expect(results.filter((r) => !r.pass), formatComparisons(results)).toEqual([]);
  }, 120_000);

  it('refuses a pipeline fixture without an onnx export', async () => {
    await expect(runOnnxPipelineFixture(fixturePath('pipeline-sdturbo-tiny'))).rejects.toMatchObject({ name: 'FixtureError', field: 'onnx' });
  });
});
