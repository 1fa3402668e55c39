import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../../../tools/verify/fixture/fixture.js';
import { compareTensors, formatComparison, formatComparisons } from '../../../../tools/verify/compare.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const tol = { maxAbs: 1e-3, maxRelL2: 1e-4 };

describe('compareTensors', () => {
  it('computes max |a-b| and ||a-b||/||b|| in float64', () => {
    const r = compareTensors('x', [1, 2, 3.5], [1, 2, 3], { maxAbs: 1, maxRelL2: 1 });
    expect(r.maxAbs).toBe(0.5);
    expect(r.relL2).toBeCloseTo(0.5 / Math.sqrt(14), 15);
    expect(r.pass).toBe(true);
  });

  it('fails when either bound is exceeded', () => {
    expect(compareTensors('x', [1.002, 2], [1, 2], tol).pass).toBe(false);
    // Every element within max_abs, but relative to a tiny reference the error is large.
    expect(compareTensors('x', [0.0005, 0.0005], [0, 0.001], tol).pass).toBe(false);
  });

  it('fails on NaN and infinities instead of passing them', () => {
    const nan = compareTensors('x', [Number.NaN, 1], [1, 1], tol);
    expect(Number.isNaN(nan.maxAbs)).toBe(true);
    expect(nan.pass).toBe(false);
    expect(compareTensors('x', [Infinity], [1], tol).pass).toBe(false);
  });

  it('treats an all-zero reference exactly: equal passes, anything else fails', () => {
    expect(compareTensors('z', [0, 0], [0, 0], tol)).toMatchObject({ relL2: 0, pass: true });
    expect(compareTensors('z', [0, 1e-9], [0, 0], tol)).toMatchObject({ relL2: Infinity, pass: false });
  });

  it('throws on a length mismatch', () => {
    expect(() => compareTensors('x', [1, 2], [1], tol)).toThrow(RangeError);
  });

  it('formats PASS and FAIL lines with both measures and both bounds', () => {
    const pass = formatComparison(compareTensors('image', [1, 2], [1, 2.0001], tol));
    expect(pass).toMatch(/^image: max_abs=1\.000e-4 rel_l2=4\.472e-5 \(tol 1\.000e-3, 1\.000e-4\) PASS$/);
    const lines = formatComparisons([compareTensors('a', [1], [1], tol), compareTensors('b', [2], [1], tol)]).split('\n');
    expect(lines[1]).toMatch(/^b: .* FAIL$/);
  });

  it('passes a fixture output compared with itself and fails it against another output', async () => {
    const fixture = await loadFixture(fixturePath('unet-sd15-tiny'));
    if (fixture.kind !== 'unet') throw new Error(`kind ${fixture.kind}`);
    const io = await fixture.readIo();
    const out = io.get('out_sample')!.data;
    expect(compareTensors('out_sample', out, out, fixture.tolerance).pass).toBe(true);
    expect(compareTensors('out_sample', io.get('out_sample_1')!.data, out, fixture.tolerance).pass).toBe(false);
  });
});
