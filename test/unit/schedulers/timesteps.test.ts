import { describe, expect, it } from 'vitest';
import { npLinspace, npRound, spacedTimesteps } from '../../../src/schedulers/timesteps.js';
import { torchLinspaceF32 } from '../../../src/schedulers/betas.js';

describe('timestep spacing helpers', () => {
  it('npRound rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(npRound)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('npLinspace ends exactly on stop and handles a single point', () => {
    expect(npLinspace(0, 999, 4)).toEqual([0, 333, 666, 999]);
    expect(npLinspace(0, 999, 1)).toEqual([0]);
  });

  it('trailing spacing starts at the last training step', () => {
    expect(spacedTimesteps('trailing', 1000, 4, 0, false)).toEqual([999, 749, 499, 249]);
  });

  it('leading spacing adds steps_offset to multiples of N // n', () => {
    expect(spacedTimesteps('leading', 1000, 3, 1, false)).toEqual([667, 334, 1]);
  });

  it('torch linspace hits both ends exactly in float32', () => {
    const v = torchLinspaceF32(0.1, 0.7, 1000);
    expect(v[0]).toBe(Math.fround(0.1));
    expect(v[999]).toBe(Math.fround(0.7));
    expect(v.every((x) => Math.fround(x) === x)).toBe(true);
  });
});
