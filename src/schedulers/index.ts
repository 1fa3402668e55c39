/**
 * Diffusion schedulers matching diffusers 0.40 step for step: the schedules are computed in TS
 * (float32 where torch rounds), each step is one elementwise combination run by a
 * {@link LatentBackend} (host Float32Arrays, or the `scheduler-step` WGSL kernel through
 * `gpuLatentBackend` in `src/kernels/scheduler-step.ts`).
 */
export { SchedulerConfigError, SchedulerStateError, UnknownSchedulerError } from './errors.js';
export type { RawSchedulerConfig, SchedulerLogger } from './config.js';
export type { Scheduler, SchedulerOptions, SchedulerStepOptions, SchedulerStepOutput, PredictionType } from './scheduler.js';
export { DDIMScheduler, type DDIMStepOptions } from './ddim.js';
export { PNDMScheduler } from './pndm.js';
export { EulerDiscreteScheduler, type EulerStepOptions } from './euler.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
export { LCMScheduler } from './lcm.js';
export { createScheduler, schedulerNames, SCHEDULER_ALIASES, SCHEDULER_CLASSES } from './registry.js';
export { setStrengthTimesteps, type StrengthSchedule } from './strength.js';
export { guidanceScaleEmbedding } from './guidance-embedding.js';
export { Rng } from './rng.js';
export { hostLatents, type HostTensor, type LatentBackend, type CombinePlan } from './latents.js';
export { runSchedulerCase, type SchedulerCaseCheck, type SchedulerCaseResult } from './run-case.js';
