import { describe, expect, it } from 'vitest';
import { DDIMScheduler } from '../../../src/schedulers/ddim.js';
import { DPMSolverMultistepScheduler } from '../../../src/schedulers/dpm-solver-multistep.js';
import { UnknownSchedulerError } from '../../../src/schedulers/errors.js';
import { EulerAncestralDiscreteScheduler } from '../../../src/schedulers/euler-ancestral.js';
import { EulerDiscreteScheduler } from '../../../src/schedulers/euler.js';
import { LCMScheduler } from '../../../src/schedulers/lcm.js';
import { PNDMScheduler } from '../../../src/schedulers/pndm.js';
import { createScheduler, schedulerNames } from '../../../src/schedulers/registry.js';

const quiet = { logger: { warn: () => undefined } };

/** SD 1.5's scheduler_config.json. */
const SD15 = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

describe('scheduler registry', () => {
  const expected: [string, abstract new (...args: never[]) => unknown][] = [
    ['EulerDiscreteScheduler', EulerDiscreteScheduler],
    ['euler', EulerDiscreteScheduler],
    ['EulerAncestralDiscreteScheduler', EulerAncestralDiscreteScheduler],
    ['euler-a', EulerAncestralDiscreteScheduler],
    ['DDIMScheduler', DDIMScheduler],
    ['ddim', DDIMScheduler],
    ['PNDMScheduler', PNDMScheduler],
    ['pndm', PNDMScheduler],
    ['DPMSolverMultistepScheduler', DPMSolverMultistepScheduler],
    ['dpm++2m', DPMSolverMultistepScheduler],
    ['dpm++2m-karras', DPMSolverMultistepScheduler],
    ['LCMScheduler', LCMScheduler],
    ['lcm', LCMScheduler],
  ];
  for (const [name, cls] of expected) {
    it(`resolves ${name} to ${cls.name}`, () => {
      expect(createScheduler(name, {}, quiet)).toBeInstanceOf(cls);
    });
  }

  it('lists every class and short name', () => {
    expect(schedulerNames().sort()).toEqual(expected.map(([n]) => n).sort());
  });

  it('dpm++2m-karras turns on Karras sigmas and dpm++2m turns them off', () => {
    expect(createScheduler('dpm++2m-karras', SD15, quiet).config['use_karras_sigmas']).toBe(true);
    expect(createScheduler('dpm++2m', { ...SD15, use_karras_sigmas: true }, quiet).config['use_karras_sigmas']).toBe(false);
  });

  it('an unknown name is an UnknownSchedulerError listing the known names', () => {
    expect(() => createScheduler('heun', {})).toThrow(UnknownSchedulerError);
    expect(() => createScheduler('heun', {})).toThrow(/euler-a/);
  });

  it('switching schedulers keeps the model config fields the new class knows', () => {
    const euler = createScheduler('euler', SD15, quiet);
    expect(euler.config['beta_schedule']).toBe('scaled_linear');
    expect(euler.config['steps_offset']).toBe(1);
    expect(euler.config['timestep_spacing']).toBe('linspace');
    expect(euler.config['_class_name']).toBe('EulerDiscreteScheduler');
    expect(euler.config).not.toHaveProperty('skip_prk_steps');
  });

  it('drops the fields of compatible classes without a warning (as diffusers), and warns once per logger about the rest', () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    // SD 1.5's PNDM fields, DDIM's clip_sample, and what SD-Turbo's EulerDiscreteScheduler file carries.
    createScheduler('euler', SD15, { logger });
    createScheduler('EulerDiscreteScheduler', { ...SD15, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' }, { logger });
    const ddim = { ...SD15, _class_name: 'DDIMScheduler', clip_sample_range: 1, thresholding: false, dynamic_thresholding_ratio: 0.995, sample_max_value: 1 };
    createScheduler('dpm++2m', ddim, { logger });
    createScheduler('euler-a', { ...SD15, use_karras_sigmas: false, algorithm_type: 'dpmsolver++' }, { logger });
    expect(warnings).toEqual([]);
    createScheduler('euler', { ...SD15, beta_shedule: 'linear' }, { logger });
    createScheduler('euler', { ...SD15, beta_shedule: 'linear' }, { logger });
    expect(warnings).toEqual(['EulerDiscreteScheduler: config field "beta_shedule" is not used by this scheduler and is ignored.']);
  });

  it('warns about a field no compatible class has, and on LCMScheduler (no compatibles) about every field but its origin class\'s, never about metadata keys', () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    createScheduler('euler', { ...SD15, _class_name: 'UniPCMultistepScheduler', predict_x0: true }, { logger });
    expect(warnings).toEqual(['EulerDiscreteScheduler: config field "predict_x0" is not used by this scheduler and is ignored.']);
    warnings.length = 0;
    createScheduler('lcm', { ...SD15, use_karras_sigmas: false }, { logger });
    expect(warnings).toEqual(['LCMScheduler: config field "use_karras_sigmas" is not used by this scheduler and is ignored.']);
  });
});
