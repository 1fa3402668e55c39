import type { DiffusionImage } from './image.js';

/** Timings and facts about one finished request. */
export interface DiffusionMetrics {
  /** Wall time of the whole request. */
  totalMs?: number;
  /** Mean time per denoising step. */
  perStepMs?: number;
  /** Seeds used, one per image. */
  seeds?: number[];
  /** Which executor produced the images. */
  executor?: string;
  [key: string]: unknown;
}

/** The result of one request. `error` is null on success; on failure `images` is empty. */
export interface DiffusionOutput {
  requestId: string;
  images: DiffusionImage[];
  error: string | null;
  /** Kind of the error (`AbortError`, `RequestValidationError`, ...), null on success. */
  errorName?: string | null;
  /** Latents after each step, when `returnTrajectoryLatents` was set: one Float32Array per step. */
  trajectoryLatents: Float32Array[] | null;
  trajectoryTimesteps: number[] | null;
  metrics: DiffusionMetrics;
}

/** Builds the output of a request that failed. */
export function failedOutput(requestId: string, error: unknown): DiffusionOutput {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return {
    requestId,
    images: [],
    error: name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message,
    errorName: name,
    trajectoryLatents: null,
    trajectoryTimesteps: null,
    metrics: {},
  };
}
