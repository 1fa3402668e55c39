import { describe, expect, it } from 'vitest';
import { type HostTensor, hostLatents, linearCombination, MAX_COMBINE_INPUTS, runCombination, Y } from '../../../src/schedulers/latents.js';

const t = (...v: number[]): HostTensor => ({ shape: [v.length], data: Float32Array.from(v) });

describe('scheduler combinations on the host', () => {
  it('merges repeated tensors and cancels their coefficients exactly', () => {
    const a = t(1, 2, 3);
    const b = t(10, 20, 30);
    const out = linearCombination(hostLatents, [[1 / 3, a], [2, b], [-1 / 3, a]]);
    expect(Array.from(out.data)).toEqual([20, 40, 60]);
  });

  it('clips the predicted sample and feeds it to both outputs', () => {
    const x = t(-3, 0.25, 3);
    const [prev, x0] = runCombination(hostLatents, { y: [[1, x]], clip: [-1, 1], outputs: [[[2, Y], [1, x]], [[1, Y]]] });
    expect(Array.from(x0!.data)).toEqual([-1, 0.25, 1]);
    expect(Array.from(prev!.data)).toEqual([-5, 0.75, 5]);
  });

  it('refuses more distinct inputs than the kernel binds', () => {
    const many = Array.from({ length: MAX_COMBINE_INPUTS + 1 }, (_, i) => [1, t(i)] as const);
    expect(() => linearCombination(hostLatents, many)).toThrow(RangeError);
  });

  it('refuses tensors of different sizes', () => {
    expect(() => linearCombination(hostLatents, [[1, t(1, 2)], [1, t(1)]])).toThrow(/differ in size/);
  });
});
