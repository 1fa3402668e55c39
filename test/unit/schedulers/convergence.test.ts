import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/io/json.js';
import type { HostTensor } from '../../../src/schedulers/latents.js';
import { createScheduler } from '../../../src/schedulers/registry.js';
import { Rng } from '../../../src/schedulers/rng.js';
import type { Scheduler } from '../../../src/schedulers/scheduler.js';

/**
 * A model that knows the data point `c` exactly. Given the sample at a step it returns the
 * epsilon / v / x0 that the scheduler's own parameterisation maps back to `c`. Every scheduler
 * fed by it must land on `c` at the end of the schedule (first-order ODE steps with a perfect
 * denoiser are exact, higher-order corrections vanish, and ancestral noise ends at σ = 0), so
 * these runs check the configurations the golden cases do not cover.
 */
function oracle(s: Scheduler, prediction: string, i: number, t: number, x: Float32Array, c: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const sigmaBased = s.sigmas !== null;
  let alpha: number;
  let sigma: number;
  if (!sigmaBased) {
    const ac = (s as unknown as { alphasCumprod: Float64Array }).alphasCumprod[t]!;
    alpha = Math.sqrt(ac);
    sigma = Math.sqrt(1 - ac);
  } else if (s.className === 'DPMSolverMultistepScheduler') {
    const sg = s.sigmas![i]!;
    alpha = 1 / Math.sqrt(sg * sg + 1);
    sigma = sg * alpha;
  } else {
    // Euler-type schedulers work in the variance-exploding frame x = c + σ·ε.
    const sg = s.sigmas![i]!;
    for (let k = 0; k < x.length; k++) {
      const eps = (x[k]! - c[k]!) / sg;
      if (prediction === 'epsilon') out[k] = eps;
      else if (prediction === 'v_prediction') out[k] = ((x[k]! / (sg * sg + 1) - c[k]!) * Math.sqrt(sg * sg + 1)) / sg;
      else out[k] = c[k]!;
    }
    return out;
  }
  for (let k = 0; k < x.length; k++) {
    const eps = (x[k]! - alpha * c[k]!) / sigma;
    if (prediction === 'epsilon') out[k] = eps;
    else if (prediction === 'v_prediction') out[k] = alpha * eps - sigma * c[k]!;
    else out[k] = c[k]!;
  }
  return out;
}

const SD = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000 };

const CASES: { name: string; scheduler: string; config: Record<string, JsonValue>; steps: number }[] = [
  { name: 'PNDM with Runge–Kutta warm-up steps', scheduler: 'PNDMScheduler', config: { ...SD, skip_prk_steps: false, set_alpha_to_one: true }, steps: 10 },
  { name: 'DDIM with eta = 1', scheduler: 'DDIMScheduler', config: { ...SD, set_alpha_to_one: true, clip_sample: false }, steps: 8 },
  { name: 'DDIM with clip_sample', scheduler: 'DDIMScheduler', config: { ...SD, set_alpha_to_one: true, clip_sample: true, clip_sample_range: 1.0 }, steps: 8 },
  { name: 'DDIM predicting the sample', scheduler: 'DDIMScheduler', config: { ...SD, set_alpha_to_one: true, prediction_type: 'sample' }, steps: 5 },
  { name: 'DDIM on a linear beta schedule', scheduler: 'DDIMScheduler', config: { beta_schedule: 'linear', set_alpha_to_one: true }, steps: 6 },
  { name: 'DDIM on squaredcos_cap_v2', scheduler: 'DDIMScheduler', config: { beta_schedule: 'squaredcos_cap_v2', set_alpha_to_one: true }, steps: 6 },
  { name: 'Euler with Karras sigmas', scheduler: 'EulerDiscreteScheduler', config: { ...SD, use_karras_sigmas: true }, steps: 8 },
  { name: 'Euler with exponential sigmas', scheduler: 'EulerDiscreteScheduler', config: { ...SD, use_exponential_sigmas: true }, steps: 8 },
  { name: 'Euler predicting the sample', scheduler: 'EulerDiscreteScheduler', config: { ...SD, prediction_type: 'sample', timestep_spacing: 'trailing' }, steps: 4 },
  { name: 'Euler with zero terminal SNR', scheduler: 'EulerDiscreteScheduler', config: { ...SD, rescale_betas_zero_snr: true, timestep_spacing: 'trailing', prediction_type: 'v_prediction' }, steps: 6 },
  { name: 'Euler ancestral with generator noise', scheduler: 'EulerAncestralDiscreteScheduler', config: { ...SD }, steps: 6 },
  { name: 'DPM-Solver++ third order', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, solver_order: 3 }, steps: 20 },
  { name: 'DPM-Solver++ heun', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, solver_type: 'heun' }, steps: 8 },
  { name: 'DPM-Solver (noise prediction) ending on sigma_min', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min' }, steps: 8 },
  { name: 'SDE-DPM-Solver++ with generator noise', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, algorithm_type: 'sde-dpmsolver++' }, steps: 8 },
  { name: 'DPM-Solver++ predicting the sample', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, prediction_type: 'sample', use_karras_sigmas: true }, steps: 6 },
  { name: 'LCM with clip_sample', scheduler: 'LCMScheduler', config: { ...SD, clip_sample: true }, steps: 4 },
];

describe('schedulers driven by an exact denoiser land on the data (noised to the final sigma)', () => {
  for (const k of CASES) {
    it(`${k.name} ends at the data point`, () => {
      const s = createScheduler(k.scheduler, k.config, { logger: { warn: () => undefined } });
      s.setTimesteps(k.steps);
      const n = 16;
      const shape = [1, 4, 2, 2];
      const rng = new Rng(7);
      const c = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.9);
      let sample: HostTensor = { shape, data: rng.randn(n).map((v) => v * s.initNoiseSigma) };
      // A deterministic run with an exact denoiser keeps the noise direction ε0 of the start; a
      // schedule that ends on a non-zero sigma ends at the data noised to that level.
      const vp = (sg: number): [number, number] => [1 / Math.sqrt(sg * sg + 1), sg / Math.sqrt(sg * sg + 1)];
      const sigmas = s.sigmas ?? [0];
      const [a0, s0] = vp(sigmas[0]!);
      const [aEnd, sEnd] = vp(sigmas[sigmas.length - 1]!);
      const target = c.map((v, i) => (sEnd === 0 ? v : aEnd * v + sEnd * ((sample.data[i]! - a0 * v) / s0)));
      const prediction = (s.config['prediction_type'] as string) ?? 'epsilon';
      s.timesteps.forEach((t, i) => {
        s.scaleModelInput(sample, t);
        const modelOutput: HostTensor = { shape, data: oracle(s, prediction, i, t, sample.data, c) };
        const eta = k.name.includes('eta') ? { eta: 1 } : {};
        sample = s.step(modelOutput, t, sample, { generator: rng, ...eta }).prevSample;
      });
      const err = Math.max(...sample.data.map((v, i) => Math.abs(v - target[i]!)));
      expect(err).toBeLessThan(2e-3);
    });
  }
});
