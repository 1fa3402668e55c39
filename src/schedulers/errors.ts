import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';

/**
 * A scheduler config field or `setTimesteps` argument is invalid or unsupported. `field` is the
 * snake_case key as it appears in `scheduler_config.json` (or `num_inference_steps`).
 * Code `SCHEDULER_CONFIG_INVALID`.
 */
export class SchedulerConfigError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'SchedulerConfigError', 'SCHEDULER_CONFIG_INVALID');
  }

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

/** A scheduler was used out of order: `step` before `setTimesteps`, a timestep not in the schedule, noise missing. Code `SCHEDULER_STATE`. */
export class SchedulerStateError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'SchedulerStateError', 'SCHEDULER_STATE');
  }
}

/** No scheduler is registered under the given class or short name. Code `SCHEDULER_UNKNOWN`. */
export class UnknownSchedulerError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'UnknownSchedulerError', 'SCHEDULER_UNKNOWN');
  }

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
