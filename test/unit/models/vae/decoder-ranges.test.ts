import { describe, expect, it } from 'vitest';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { decodeInRanges, vaeDecoderFixtures } from '../../../helpers/vae-ranges.js';
import { channelRanges } from '../../../../src/models/vae/decoder-resnet.js';

const fixtures = await vaeDecoderFixtures();

describe('the VAE decoder over channel ranges (float64 reference)', () => {
  it('finds VAE decoder fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name decodes in one-group ranges as it does whole', async ({ path }) => {
    const { maxAbsBetween } = await decodeInRanges(path, new CpuOps());
    // Only the order of float64 sums differs.
    expect(maxAbsBetween).toBeLessThan(1e-12);
  }, 60_000);
});

describe('channelRanges', () => {
  const memory = { workingSetElements: 1000 };
  it('covers the channels in ranges of whole groups as wide as the budget left allows', () => {
    // 1000 − 400 = 600 elements at 10 per channel: 60 channels, 15 groups of 4.
    expect(channelRanges(128, 4, 400, 10, memory)).toEqual([[0, 60], [60, 120], [120, 128]]);
  });

  it('takes all channels at once when they fit, and one group when nothing is left', () => {
    expect(channelRanges(16, 4, 0, 10, memory)).toEqual([[0, 16]]);
    expect(channelRanges(12, 4, 5000, 10, memory)).toEqual([[0, 4], [4, 8], [8, 12]]);
  });
});
