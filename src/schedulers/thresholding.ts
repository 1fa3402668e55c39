import type { SchedulerConfigReader } from './config.js';
import { SchedulerConfigError } from './errors.js';

/**
 * Dynamic thresholding (Imagen's per-sample quantile clamp) needs a reduction per batch row; it
 * is meant for pixel-space models and is not implemented. A config asking for it is refused.
 */
export function requireNoThresholding(reader: SchedulerConfigReader): void {
  if (reader.boolean('thresholding')) {
    throw new SchedulerConfigError(reader.className, 'thresholding', true, 'false (dynamic thresholding is not implemented)');
  }
}
