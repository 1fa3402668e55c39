import { describe, expect, it } from 'vitest';
import { GpuOps } from '../../../../src/webgpu/kernels/gpu-ops.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { verifyFixture } from '../../../../tools/verify/run-fixture.js';
import { runTextualInversionFixture } from '../../../../tools/verify/textual-inversion.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';
import { gpuRuntime } from '../../helpers/device.js';

// Every textual_inversion fixture, top level and under community/, found by `kind` (read first,
// so that fixtures of kinds other suites own are left to them).
const fixtures = await fixturesOfKind('textual_inversion');

describe('textual_inversion fixtures on WebGPU (Dawn)', () => {
  it('finds textual_inversion fixtures to run', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name: tokens and ids exactly, prompt_embeds within tolerance, for every embedding file', async ({ name, fx }) => {
    const results = await runTextualInversionFixture(fx, new GpuOps(await gpuRuntime()));
    console.log(`${name}\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    for (const format of Object.keys(fx.embeddingFiles)) {
      for (const [i, c] of fx.cases.entries()) expect(results.map((r) => r.name)).toContain(`${format}: cases[${i}] ${c.promptEmbeds}`);
    }
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);

  it.each(fixtures)('$name through `npm run verify`\'s dispatch on kind', async ({ fx }) => {
    const results = await verifyFixture(fx);
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);
});
