import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/io/json.js';
import { SchedulerConfigError, SchedulerStateError } from '../../../src/schedulers/errors.js';
import { createScheduler, SCHEDULER_CLASSES } from '../../../src/schedulers/registry.js';

const quiet = { logger: { warn: () => undefined } };

function configError(fn: () => unknown): SchedulerConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SchedulerConfigError);
    expect((e as Error).name).toBe('SchedulerConfigError');
    return e as SchedulerConfigError;
  }
  throw new Error('expected a SchedulerConfigError');
}

describe('scheduler config errors name the field', () => {
  for (const name of Object.keys(SCHEDULER_CLASSES)) {
    it(`${name} rejects an unknown prediction_type`, () => {
      const err = configError(() => createScheduler(name, { prediction_type: 'noise' }, quiet));
      expect(err.field).toBe('prediction_type');
      expect(err.message).toContain('prediction_type');
      expect(err.message).toContain(name);
    });

    it(`${name} rejects zero, fractional and too many steps`, () => {
      const s = createScheduler(name, { num_train_timesteps: 100 }, quiet);
      for (const steps of [0, 2.5, 101]) {
        const err = configError(() => s.setTimesteps(steps));
        expect(err.field).toBe('num_inference_steps');
        expect(err.value).toBe(steps);
      }
    });

    it(`${name} rejects an unknown beta_schedule`, () => {
      expect(configError(() => createScheduler(name, { beta_schedule: 'cosine' }, quiet)).field).toBe('beta_schedule');
    });
  }

  const spacingSchedulers = ['DDIMScheduler', 'PNDMScheduler', 'EulerDiscreteScheduler', 'EulerAncestralDiscreteScheduler', 'DPMSolverMultistepScheduler'];
  for (const name of spacingSchedulers) {
    it(`${name} rejects a timestep_spacing it does not support`, () => {
      expect(configError(() => createScheduler(name, { timestep_spacing: 'karras' }, quiet)).field).toBe('timestep_spacing');
    });
  }

  const cases: [string, Record<string, JsonValue>, string][] = [
    ['DDIMScheduler', { thresholding: true }, 'thresholding'],
    ['DDIMScheduler', { num_train_timesteps: 0 }, 'num_train_timesteps'],
    ['DDIMScheduler', { trained_betas: [0.1, 0.2] }, 'trained_betas'],
    ['EulerAncestralDiscreteScheduler', { prediction_type: 'sample' }, 'prediction_type'],
    ['EulerDiscreteScheduler', { use_beta_sigmas: true }, 'use_beta_sigmas'],
    ['EulerDiscreteScheduler', { final_sigmas_type: 'one' }, 'final_sigmas_type'],
    ['EulerDiscreteScheduler', { interpolation_type: 'cubic' }, 'interpolation_type'],
    ['DPMSolverMultistepScheduler', { algorithm_type: 'dpmsolver', final_sigmas_type: 'zero' }, 'final_sigmas_type'],
    ['DPMSolverMultistepScheduler', { algorithm_type: 'unipc' }, 'algorithm_type'],
    ['DPMSolverMultistepScheduler', { solver_order: 4 }, 'solver_order'],
    ['DPMSolverMultistepScheduler', { use_lu_lambdas: true }, 'use_lu_lambdas'],
    ['DPMSolverMultistepScheduler', { variance_type: 'learned_range' }, 'variance_type'],
    ['LCMScheduler', { original_inference_steps: 2000 }, 'original_inference_steps'],
  ];
  for (const [name, config, field] of cases) {
    it(`${name} with ${JSON.stringify(config)} fails on ${field}`, () => {
      expect(configError(() => createScheduler(name, config, quiet)).field).toBe(field);
    });
  }

  it('LCM refuses more steps than original_inference_steps', () => {
    const s = createScheduler('lcm', { original_inference_steps: 8 }, quiet);
    expect(configError(() => s.setTimesteps(9)).field).toBe('num_inference_steps');
  });

  it('PNDM with Runge–Kutta steps needs at least four steps', () => {
    const s = createScheduler('pndm', { skip_prk_steps: false }, quiet);
    expect(configError(() => s.setTimesteps(3)).field).toBe('num_inference_steps');
  });
});

describe('scheduler misuse', () => {
  const host = { shape: [1, 1, 1, 1], data: new Float32Array(1) };

  it('step before setTimesteps is a SchedulerStateError', () => {
    for (const name of Object.keys(SCHEDULER_CLASSES)) {
      const s = createScheduler(name, {}, quiet);
      expect(() => s.step(host, 999, host)).toThrow(SchedulerStateError);
    }
  });

  it('a noise-drawing step without noise or generator says what to pass', () => {
    const s = createScheduler('euler-a', {}, quiet);
    s.setTimesteps(2);
    expect(() => s.step(host, s.timesteps[0]!, host)).toThrow(/options\.noise or options\.generator/);
  });

  it('a timestep outside the schedule is named', () => {
    const s = createScheduler('euler', {}, quiet);
    s.setTimesteps(2);
    expect(() => s.scaleModelInput(host, 123.5)).toThrow(/123\.5/);
  });
});
