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

/** The config fields of each class, to tell a switched-from class's own fields from unknown ones. */
const CONFIG_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  DDIMScheduler: DDIMScheduler.configKeys,
  PNDMScheduler: PNDMScheduler.configKeys,
  EulerDiscreteScheduler: EulerDiscreteScheduler.configKeys,
  EulerAncestralDiscreteScheduler: EulerAncestralDiscreteScheduler.configKeys,
  DPMSolverMultistepScheduler: DPMSolverMultistepScheduler.configKeys,
  LCMScheduler: LCMScheduler.configKeys,
};

/**
 * Ours among diffusers' `KarrasDiffusionSchedulers`: each lists the others as `_compatibles`, and
 * diffusers drops the fields of every compatible class silently when it builds one from a config.
 * That is why SD-Turbo's EulerDiscreteScheduler file may carry PNDM's `skip_prk_steps` and DDIM's
 * `clip_sample` without a warning. LCMScheduler has no compatibles.
 */
const COMPATIBLE: ReadonlySet<string> = new Set([
  'DDIMScheduler',
  'PNDMScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DPMSolverMultistepScheduler',
]);

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
 * (betas, prediction type, spacing, offset) carry over; the fields the new class lacks are dropped
 * silently when they belong to the class the config was saved from (its `_class_name`) or to a
 * class compatible with the new one, as diffusers' `from_config` does; other unknown fields are
 * ignored with a warning, and a short name's own settings are applied on top.
 */
export function createScheduler<T = HostTensor>(nameOrClass: string, baseConfig: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}): Scheduler<T> {
  const alias = SCHEDULER_ALIASES[nameOrClass];
  const className = alias?.className ?? nameOrClass;
  const factory = Object.hasOwn(SCHEDULER_CLASSES, className) ? SCHEDULER_CLASSES[className] : undefined;
  if (factory === undefined) throw new UnknownSchedulerError(nameOrClass, schedulerNames());
  const config: Record<string, JsonValue | undefined> = { ...baseConfig };
  const wanted = CONFIG_KEYS[className]!;
  const origin = baseConfig._class_name;
  const foreign = new Set(COMPATIBLE.has(className) ? COMPATIBLE : []);
  if (typeof origin === 'string' && Object.hasOwn(CONFIG_KEYS, origin)) foreign.add(origin);
  for (const other of foreign) for (const key of CONFIG_KEYS[other]!) if (!wanted.has(key)) delete config[key];
  return factory<T>({ ...config, ...alias?.overrides }, options);
}
