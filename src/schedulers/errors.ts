import { OmniDiffusionError } from '../errors.js';

/**
 * A scheduler config field or `setTimesteps` argument is invalid or unsupported. `field` is the
 * snake_case key as it appears in `scheduler_config.json` (or `num_inference_steps`).
 */
export class SchedulerConfigError extends TypeError {
  readonly scheduler: string;
  readonly field: string;
  readonly value: unknown;
  constructor(scheduler: string, field: string, value: unknown, expected: string) {
    super(`${scheduler}: invalid ${field} = ${describe(value)}: expected ${expected}.`);
    this.name = 'SchedulerConfigError';
    this.scheduler = scheduler;
    this.field = field;
    this.value = value;
  }
}

/** A scheduler was used out of order: `step` before `setTimesteps`, a timestep not in the schedule, noise missing. */
export class SchedulerStateError extends OmniDiffusionError {}

/** No scheduler is registered under the given class or short name. */
export class UnknownSchedulerError extends OmniDiffusionError {
  readonly requested: string;
  constructor(requested: string, known: readonly string[]) {
    super(`Unknown scheduler "${requested}": expected one of ${known.join(', ')}.`);
    this.requested = requested;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
