import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFixtures, loadFixture, type ComponentFixture } from '../../../tools/verify/fixture/fixture.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { formatComparison } from '../../../tools/verify/compare.js';
import { COMPONENT_KINDS, runComponentFixture } from '../../../tools/verify/components.js';
import { fixturesDir } from '../../helpers/fixtures.js';
import { gpuRuntime } from '../helpers/device.js';

const components = (
  await Promise.all(
    (await findFixtures(fixturesDir())).map(async (path) => {
      const fx = await loadFixture(path);
      if (!(COMPONENT_KINDS as readonly string[]).includes(fx.kind)) return [];
      return [{ name: basename(path), path, kind: fx.kind, fp16: (fx as ComponentFixture).weightsFp16 !== null }];
    }),
  )
).flat();

describe('component fixtures on the WebGPU kernels (Dawn)', () => {
  it('finds component fixtures to run', () => {
    expect(components.length).toBeGreaterThan(0);
  });

  it.each(components)('$name ($kind), f32 weights, matches every expected output within tolerance', async ({ name, path }) => {
    const rt = await gpuRuntime();
    const live = rt.pool.stats.liveBytes;
    const results = await runComponentFixture(path, new GpuOps(rt));
    console.log(`${name} f32\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r.pass, formatComparison(r)).toBe(true);
    // The runner releases the model and every tensor it made.
    expect(rt.pool.stats.liveBytes).toBe(live);
  });

  it.each(components.filter((c) => c.fp16))('$name ($kind), fp16 weights, matches within tolerance_fp16', async ({ name, path }) => {
    const results = await runComponentFixture(path, new GpuOps(await gpuRuntime()), { fp16: true });
    console.log(`${name} fp16\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    for (const r of results) expect(r.pass, formatComparison(r)).toBe(true);
  });
});
