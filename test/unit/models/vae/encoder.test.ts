import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../../../tools/verify/fixture/fixture.js';
import { DiagonalGaussian } from '../../../../src/models/vae/diagonal-gaussian.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runComponentFixture } from '../../../../tools/verify/components.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { repoRoot } from '../../../helpers/fixtures.js';

const FIXTURE = resolve(repoRoot, 'test/fixtures/vae-encoder-tiny');

describe('AutoencoderKL encoder on the float64 CPU reference', () => {
  it('reads the vae_encoder fixture as a component fixture', async () => {
    const fx = await loadFixture(FIXTURE);
    expect(fx).toMatchObject({ kind: 'vae_encoder', inputs: ['image'], outputs: ['moments', 'scaled_mean'] });
  });

  it('matches the PyTorch reference (encoder, asymmetric downsampling pad, quant_conv, scaling)', async () => {
    const results = await runComponentFixture(FIXTURE, new CpuOps());
    console.log(results.map((r) => formatComparison(r)).join('\n'));
    expect(results).toHaveLength(2);
    for (const r of results) expect(r.pass, formatComparison(r)).toBe(true);
  }, 120_000);
});

describe('DiagonalGaussian', () => {
  // [B=1, 2C=4, 1, 2]: mean channels (0, 1), log-variance channels (2, 3).
  const moments = Float32Array.from([0.5, -1, 2, 3, Math.log(4), 0, -40, 30]);

  it('splits the moments per image and clamps the log-variance to [-30, 20]', () => {
    const d = new DiagonalGaussian(moments, [1, 4, 1, 2]);
    expect(d.shape).toEqual([1, 2, 1, 2]);
    expect(Array.from(d.mean)).toEqual([0.5, -1, 2, 3]);
    expect(d.std[0]).toBeCloseTo(2, 6);
    expect(d.std[1]).toBe(1);
    expect(d.std[2]).toBeCloseTo(Math.exp(-15), 12);
    expect(d.std[3]).toBeCloseTo(Math.exp(10), 0);
  });

  it('samples mean + std · noise', () => {
    const d = new DiagonalGaussian(moments, [1, 4, 1, 2]);
    const s = d.sample(Float32Array.from([1, -2, 0, 0]));
    expect(Array.from(s.subarray(0, 2))).toEqual([2.5, -3]);
    expect(Array.from(s.subarray(2))).toEqual([2, 3]);
  });

  it('rejects moments with an odd channel count and noise of the wrong size', () => {
    expect(() => new DiagonalGaussian(new Float32Array(3), [1, 3, 1, 1])).toThrow(/not \[B, 2C, h, w\]/);
    expect(() => new DiagonalGaussian(moments, [1, 4, 1, 2]).sample(new Float32Array(3))).toThrow(/noise holds 3 values/);
  });
});
