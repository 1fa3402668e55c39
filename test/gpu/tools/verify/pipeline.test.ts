import { describe, expect, it } from 'vitest';
import { FixtureError } from '../../../../src/io/errors.js';
import { loadFixture, type PipelineFixture } from '../../../../tools/verify/fixture/fixture.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runPipelineFixture } from '../../../../tools/verify/pipeline.js';
import { fixturePath } from '../../../helpers/fixtures.js';

async function pipeline(name: string): Promise<PipelineFixture> {
  const fx = await loadFixture(fixturePath(name));
  if (fx.kind !== 'pipeline') throw new Error(`kind ${fx.kind}`);
  return fx;
}

describe('runPipelineFixture', () => {
  it('checks the timesteps, the token ids and every stored output, under CFG too', async () => {
    const fx = await pipeline('pipeline-sd15-tiny');
    const results = await runPipelineFixture(fx);
    for (const r of results) console.log(`pipeline-sd15-tiny ${formatComparison(r)}`);
    expect(results.map((r) => r.name)).toEqual(['timesteps', 'input_ids', 'negative_input_ids', ...fx.outputs]);
    expect(fx.outputs).toEqual(expect.arrayContaining(['prompt_embeds', 'negative_prompt_embeds', 'initial_latents', 'unet_output_step_0', 'unet_output_step_3']));
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
    // UNet outputs are judged by the latents tolerance, embeddings by the main one.
    expect(results.find((r) => r.name === 'unet_output_step_0')!.tolerance.maxAbs).toBe(fx.tolerance.latentsMaxAbs);
    expect(results.find((r) => r.name === 'prompt_embeds')!.tolerance.maxAbs).toBe(fx.tolerance.maxAbs);
  });

  it('fails loudly on a stored output the engine does not produce, rather than skipping it', async () => {
    const fx = await pipeline('pipeline-sdturbo-tiny');
    const err = await runPipelineFixture({ ...fx, outputs: [...fx.outputs, 'pooled_prompt_embeds'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixtureError);
    expect((err as FixtureError).field).toBe('outputs');
    expect((err as FixtureError).message).toContain('"pooled_prompt_embeds"');
  });
});
