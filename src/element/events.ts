import type { DiffusionImage } from '../api/image.js';
import type { LoadProgress } from '../api/load-progress.js';
import type { DiffusionOutput } from '../api/output.js';

/** `progress`: one denoising step finished. */
export interface OmniProgressDetail {
  /** 1-based step just finished. */
  step: number;
  total: number;
  elapsedMs: number;
  /** The live preview of this step, when the executor makes one. */
  preview?: DiffusionImage;
}

/** Timings of one generation, in milliseconds. */
export interface OmniTimings {
  /** From `generate()` to the image, model loading included. */
  totalMs: number;
  /** Waiting for the engine (model download and load; 0 when it was already loaded). */
  loadMs: number;
  /** Mean time per denoising step. */
  perStepMs: number | null;
  steps: number | null;
}

/** `image`: the final image is shown. */
export interface OmniImageDetail {
  image: DiffusionImage;
  /** The prompt it was generated from (also its alt text). */
  prompt: string;
  negativePrompt: string | null;
  seed: number | null;
  /** Executor that produced it (`webgpu`, `http`, ...). */
  executor: string;
  timings: OmniTimings;
  output: DiffusionOutput;
}

/** `error`: a generation failed; the element shows the cause and a retry button. */
export interface OmniErrorDetail {
  /** Error kind (`ElementAttributeError`, `ExecutorUnavailableError`, ...). */
  name: string;
  message: string;
  error: Error;
}

/** `fallback`: the engine runs on another executor than the one asked for. */
export interface OmniFallbackDetail {
  /** Executor asked for. */
  requested: string;
  /** Executor in use. */
  executor: string;
  /** Why the requested one could not start. */
  reason: string;
}

/** The element's events and their `CustomEvent` types. */
export interface OmniDiffusionEventMap {
  progress: CustomEvent<OmniProgressDetail>;
  image: CustomEvent<OmniImageDetail>;
  error: CustomEvent<OmniErrorDetail>;
  fallback: CustomEvent<OmniFallbackDetail>;
  /** The model's load, one event per `LoadProgress` of `DiffusionEngine.create` (also to elements sharing the load). */
  loadprogress: CustomEvent<LoadProgress>;
}
