import { describe, expect, it } from 'vitest';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { decodeInRanges, vaeDecoderFixtures } from '../../helpers/vae-ranges.js';
import { gpuRuntime } from '../helpers/device.js';

const fixtures = await vaeDecoderFixtures();

describe('the VAE decoder over channel ranges (Dawn)', () => {
  it.each(fixtures)('$name decodes in one-group ranges within the fixture tolerance', async ({ name, path }) => {
    const rt = await gpuRuntime();
    const live = rt.pool.stats.liveBytes;
    const { maxAbsBetween, maxAbsRanged } = await decodeInRanges(path, new GpuOps(rt));
    console.log(`${name}: ranged max_abs ${maxAbsRanged.toExponential(2)} vs the fixture, ${maxAbsBetween.toExponential(2)} vs whole`);
    // f32 partial sums added range by range instead of in one loop.
    expect(maxAbsBetween).toBeLessThan(1e-4);
    expect(rt.pool.stats.liveBytes).toBe(live);
  }, 60_000);
});
