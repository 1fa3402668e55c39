import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFixtures, loadFixture, type PipelineFixture } from '../../../../tools/verify/fixture/fixture.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runPipelineFixture } from '../../../../tools/verify/pipeline.js';
import { fixturesDir } from '../../../helpers/fixtures.js';

// Every pipeline fixture in the shared folder, found by kind: SD and SDXL alike, and any added
// later in the same format. ONNX exports run through the onnx executor's own tests.
const pipelines = (
  await Promise.all(
    (await findFixtures(fixturesDir())).map(async (path) => {
      const fx = await loadFixture(path);
      return fx.kind === 'pipeline' && (fx as PipelineFixture).onnx === null ? [{ name: basename(path), fx: fx as PipelineFixture }] : [];
    }),
  )
).flat();

describe('every pipeline fixture through DiffusionEngine on the WebGPU executor (Dawn)', () => {
  it('finds SD and SDXL pipeline fixtures', () => {
    expect(pipelines.map((p) => p.fx.pipeline)).toEqual(expect.arrayContaining(['StableDiffusionPipeline', 'StableDiffusionXLPipeline']));
  });

  it.each(pipelines)('$name: the token ids exactly, every stored output within tolerance', async ({ name, fx }) => {
    const results = await runPipelineFixture(fx);
    console.log(results.map((r) => `${name} ${formatComparison(r)}`).join('\n'));
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(fx.outputs));
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  });
});
