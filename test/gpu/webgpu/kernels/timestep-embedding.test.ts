import { expect, test } from 'vitest';
import type { TimestepEmbeddingOptions } from '../../../../src/webgpu/kernels/ops.js';
import { gpuRuntime } from '../../helpers/device.js';
import { compareWithReference } from '../../helpers/reference.js';

// Computed in float64 on the host and stored as f32: only the final rounding, ≤ 6e-8 on values ≤ 1.
const TOL = 1e-7;

const cases: [string, number[], number, TimestepEmbeddingOptions][] = [
  ['SD UNet: 320 dims, flip, shift 0', [999, 1], 320, { flipSinToCos: true, downscaleFreqShift: 0 }],
  ['diffusers default: shift 1, no flip', [500.5], 32, { flipSinToCos: false, downscaleFreqShift: 1 }],
  ['odd dim 7, max period 100', [0, 10, 999], 7, { flipSinToCos: true, downscaleFreqShift: 1, maxPeriod: 100 }],
];

test.each(cases)('timestepEmbedding matches get_timestep_embedding: %s', async (_n, timesteps, dim, options) => {
  const r = await compareWithReference(await gpuRuntime(), {
    name: _n,
    inputs: [],
    run: (ops) => ops.timestepEmbedding(timesteps, dim, options),
  });
  expect(r.gpuShape).toEqual([timesteps.length, dim]);
  expect(r.maxAbs).toBeLessThan(TOL);
});
