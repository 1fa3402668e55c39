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

  it('drops the fields of the class a config was saved from without a warning, and warns once per logger about the rest', () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    createScheduler('euler', SD15, { logger });
    createScheduler('euler', SD15, { logger });
    // skip_prk_steps and set_alpha_to_one are PNDM's own; clip_sample is in SD 1.5's file but no PNDM field.
    expect(warnings).toEqual(['EulerDiscreteScheduler: config field "clip_sample" is not used by this scheduler and is ignored.']);
    const ddim = { ...SD15, _class_name: 'DDIMScheduler', clip_sample_range: 1, thresholding: false, dynamic_thresholding_ratio: 0.995, sample_max_value: 1 };
    const { skip_prk_steps: _pndmOnly, ...ddimFields } = ddim;
    createScheduler('dpm++2m', ddimFields, { logger });
    expect(warnings).toHaveLength(1);
  });

  it('warns about every foreign field of a config saved from a class it does not run, never about metadata keys', () => {
    const warnings: string[] = [];
    createScheduler('euler', { ...SD15, _class_name: 'UniPCMultistepScheduler' }, { logger: { warn: (m: string) => warnings.push(m) } });
    expect(warnings.map((w) => /"(\w+)"/.exec(w)![1]).sort()).toEqual(['clip_sample', 'set_alpha_to_one', 'skip_prk_steps']);
  });
});
