import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler } from '../../../src/schedulers/euler.js';

describe('EulerDiscreteScheduler', () => {
  it('finds a fractional timestep written as a float32 decimal and scales by that step sigma', () => {
    const s = new EulerDiscreteScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'linspace' });
    s.setTimesteps(8);
    const t = s.timesteps[3]!;
    expect(Number.isInteger(t)).toBe(false);
    const written = Number(t.toPrecision(9));
    expect(written).not.toBe(t);
    const x = { shape: [1], data: Float32Array.of(1) };
    const scaled = s.scaleModelInput(x, written);
    const sigma = s.sigmas![3]!;
    expect(scaled.data[0]).toBeCloseTo(1 / Math.sqrt(sigma * sigma + 1), 6);
  });

  it('uses continuous timesteps (¼·ln σ) for v-prediction with timestep_type "continuous"', () => {
    const s = new EulerDiscreteScheduler({ prediction_type: 'v_prediction', timestep_type: 'continuous' });
    s.setTimesteps(4);
    s.timesteps.forEach((t, i) => expect(t).toBeCloseTo(0.25 * Math.log(s.sigmas![i]!), 5));
  });
});
