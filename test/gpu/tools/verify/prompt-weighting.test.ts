import { describe, expect, it } from 'vitest';
import { GpuOps } from '../../../../src/webgpu/kernels/gpu-ops.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runPromptWeightingFixture } from '../../../../tools/verify/prompt-weighting.js';
import { verifyFixture } from '../../../../tools/verify/run-fixture.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';
import { gpuRuntime } from '../../helpers/device.js';

// Every prompt_weighting fixture, top level and under community/, found by `kind` (read first,
// so that fixtures of kinds other suites own are left to them).
const fixtures = await fixturesOfKind('prompt_weighting');

describe('prompt_weighting fixtures on WebGPU (Dawn)', () => {
  it('finds prompt_weighting fixtures to run', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name: parsing, ids, windows and weights exactly or to weights_max_abs, embeddings within tolerance', async ({ name, fx }) => {
    const results = await runPromptWeightingFixture(fx, new GpuOps(await gpuRuntime()));
    console.log(`${name}\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    const names = results.map((r) => r.name);
    for (const [i, c] of fx.cases.entries()) {
      for (const n of [c.embeds, c.unweightedEmbeds, c.chunkInputIds, c.positionWeights, 'restoring_factor']) expect(names).toContain(`cases[${i}] ${n}`);
      if (c.negative) expect(names).toContain(`cases[${i}] negative ${c.negative.embeds}`);
    }
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);

  it.each(fixtures)("$name through `npm run verify`'s dispatch on kind", async ({ fx }) => {
    const results = await verifyFixture(fx);
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);
});
