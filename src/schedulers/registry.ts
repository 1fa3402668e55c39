import type { JsonValue } from '../io/json.js';
import type { RawSchedulerConfig } from './config.js';
import { DDIMScheduler } from './ddim.js';
import { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
import { UnknownSchedulerError } from './errors.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EulerDiscreteScheduler } from './euler.js';
import type { HostTensor } from './latents.js';
import { LCMScheduler } from './lcm.js';
import { PNDMScheduler } from './pndm.js';
import type { Scheduler, SchedulerOptions } from './scheduler.js';

type Factory = <T>(config: RawSchedulerConfig, options: SchedulerOptions<T>) => Scheduler<T>;

/** Schedulers by diffusers class name. */
export const SCHEDULER_CLASSES: Readonly<Record<string, Factory>> = {
  DDIMScheduler: (c, o) => new DDIMScheduler(c, o),
  PNDMScheduler: (c, o) => new PNDMScheduler(c, o),
  EulerDiscreteScheduler: (c, o) => new EulerDiscreteScheduler(c, o),
  EulerAncestralDiscreteScheduler: (c, o) => new EulerAncestralDiscreteScheduler(c, o),
  DPMSolverMultistepScheduler: (c, o) => new DPMSolverMultistepScheduler(c, o),
  LCMScheduler: (c, o) => new LCMScheduler(c, o),
};

/** Short names: a class plus the config fields that make the named sampler (as in A1111/ComfyUI naming). */
export const SCHEDULER_ALIASES: Readonly<Record<string, { className: string; overrides: Readonly<Record<string, JsonValue>> }>> = {
  euler: { className: 'EulerDiscreteScheduler', overrides: {} },
  'euler-a': { className: 'EulerAncestralDiscreteScheduler', overrides: {} },
  ddim: { className: 'DDIMScheduler', overrides: {} },
  pndm: { className: 'PNDMScheduler', overrides: {} },
  'dpm++2m': { className: 'DPMSolverMultistepScheduler', overrides: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: false } },
  'dpm++2m-karras': { className: 'DPMSolverMultistepScheduler', overrides: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true } },
  lcm: { className: 'LCMScheduler', overrides: {} },
};

/** Every name `createScheduler` accepts. */
export function schedulerNames(): string[] {
  return [...Object.keys(SCHEDULER_CLASSES), ...Object.keys(SCHEDULER_ALIASES)];
}

/**
 * Creates a scheduler by class or short name from a model's scheduler config, the way diffusers'
 * `OtherScheduler.from_config(pipe.scheduler.config)` switches schedulers: the shared fields
 * (betas, prediction type, spacing, offset) carry over, fields the new class does not know are
 * ignored with a warning, and a short name's own settings are applied on top.
 */
export function createScheduler<T = HostTensor>(nameOrClass: string, baseConfig: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}): Scheduler<T> {
  const alias = SCHEDULER_ALIASES[nameOrClass];
  const className = alias?.className ?? nameOrClass;
  const factory = Object.hasOwn(SCHEDULER_CLASSES, className) ? SCHEDULER_CLASSES[className] : undefined;
  if (factory === undefined) throw new UnknownSchedulerError(nameOrClass, schedulerNames());
  return factory<T>({ ...baseConfig, ...alias?.overrides }, options);
}
