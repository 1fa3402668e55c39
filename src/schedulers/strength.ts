import { RequestValidationError } from '../api/errors.js';
import { LCMScheduler } from './lcm.js';
import type { Scheduler } from './scheduler.js';

/** How img2img's `strength` shortens the schedule. */
export type StrengthSchedule =
  /** `StableDiffusionImg2ImgPipeline`: skip the noisiest steps of the full schedule. */
  | 'truncate'
  /** `LatentConsistencyModelImg2ImgPipeline`: run every step over the low-noise part of LCM's distillation schedule. */
  | 'lcm';

/**
 * Sets `scheduler`'s timesteps for img2img and returns the ones to run, first one the timestep
 * the init latents are noised to.
 *
 * - `truncate` is diffusers' `get_timesteps`: `init = min(int(steps · strength), steps)`,
 *   `t_start = max(steps − init, 0)`, `timesteps[t_start · order:]`, and `set_begin_index(t_start
 *   · order)` so that sigma-based schedulers start at that position. `int(steps · strength)`
 *   below 1 leaves no step, where diffusers raises: `RequestValidationError` naming `strength`.
 * - `lcm` applies to an `LCMScheduler` (other schedulers fall back to `truncate`), through its
 *   `setTimesteps(steps, { strength })`.
 */
export function setStrengthTimesteps<T>(scheduler: Scheduler<T>, steps: number, strength: number, schedule: StrengthSchedule = 'truncate'): number[] {
  if (!(strength > 0 && strength <= 1)) throw new RequestValidationError('strength', strength, 'a number in (0, 1]');
  if (schedule === 'lcm' && scheduler instanceof LCMScheduler) {
    scheduler.setTimesteps(steps, { strength });
    return [...scheduler.timesteps];
  }
  scheduler.setTimesteps(steps);
  // Python's int() of a non-negative float: truncation, applied to the same float64 product.
  const init = Math.min(Math.floor(steps * strength), steps);
  if (init < 1) {
    throw new RequestValidationError('strength', strength, `at least 1/numInferenceSteps = 1/${steps}, so that int(${steps} · strength) >= 1 step remains to run`);
  }
  const begin = (steps - init) * scheduler.order;
  scheduler.setBeginIndex(begin);
  return scheduler.timesteps.slice(begin);
}
