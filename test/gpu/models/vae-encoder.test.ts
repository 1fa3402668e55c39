import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { formatComparison } from '../../../tools/verify/compare.js';
import { runComponentFixture } from '../../../tools/verify/components.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { gpuRuntime } from '../helpers/device.js';

// Written by tools/fixtures/vae_encoder.py from the shared vae-decoder-tiny checkpoint.
const FIXTURE = resolve(repoRoot, 'test/fixtures/vae-encoder-tiny');

describe('AutoencoderKL encoder on the WebGPU kernels (Dawn)', () => {
  it('matches the PyTorch reference moments and scaled mean within the fixture tolerance (f32)', async () => {
    const rt = await gpuRuntime();
    const live = rt.pool.stats.liveBytes;
    const results = await runComponentFixture(FIXTURE, new GpuOps(rt));
    console.log(results.map((r) => formatComparison(r)).join('\n'));
    expect(results.map((r) => r.name)).toEqual(['moments', 'scaled_mean']);
    for (const r of results) expect(r.pass, formatComparison(r)).toBe(true);
    expect(rt.pool.stats.liveBytes).toBe(live);
  });
});
