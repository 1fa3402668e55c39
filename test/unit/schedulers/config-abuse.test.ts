/**
 * Abuse suite (issue 17): scheduler configs whose `num_train_timesteps` would size tables of
 * gigabytes. Every scheduler refuses it with a `SchedulerConfigError` naming the field.
 */
import { describe, expect, it } from 'vitest';
import { SchedulerConfigError } from '../../../src/schedulers/errors.js';
import { createScheduler, SCHEDULER_CLASSES } from '../../../src/schedulers/registry.js';
import { MAX_TRAIN_TIMESTEPS } from '../../../src/schedulers/scheduler.js';

const quiet = { logger: { warn: () => undefined } };

describe('scheduler config abuse', () => {
  for (const name of Object.keys(SCHEDULER_CLASSES)) {
    it(`${name} refuses num_train_timesteps = 2^33 (the old code died allocating its beta table)`, () => {
      let err: unknown;
      try {
        createScheduler(name, { num_train_timesteps: 2 ** 33 }, quiet);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SchedulerConfigError);
      expect(err).toMatchObject({ name: 'SchedulerConfigError', field: 'num_train_timesteps', value: 2 ** 33 });
      expect((err as Error).message).toBe(`${name}: invalid num_train_timesteps = ${2 ** 33}: expected a number <= ${MAX_TRAIN_TIMESTEPS}.`);
    });
  }

  it('still builds every scheduler at the published 1000 train timesteps', () => {
    for (const name of Object.keys(SCHEDULER_CLASSES)) expect(createScheduler(name, { num_train_timesteps: 1000 }, quiet).className).toBe(name);
  });
});
