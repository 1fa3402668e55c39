import type { GpuFault } from '../gpu/fault.js';
import type { GpuLimits } from '../gpu/limits.js';
import type { DTypeOption } from '../engine/config.js';
import type { DiffusionImage } from '../engine/image.js';
import type { DiffusionIntermediates, DiffusionMetrics } from '../engine/output.js';
import type { RgbaImageBytes } from '../engine/image-input.js';
import type { DecoderKind } from '../engine/request.js';
import type { ModelSource } from '../io/sources/model-source.js';

/** What to load: the engine config's model fields, in a form that crosses a worker boundary. */
export interface ModelSpec {
  /** The model's name, URL or folder; for a `source` object, its id. */
  modelNameOrPath: string;
  /**
   * The config's `ModelSource` object, read instead of resolving `modelNameOrPath`. It cannot
   * cross a worker boundary: only an in-process host takes one.
   */
  source?: ModelSource;
  dtype: DTypeOption;
  /** Hub weights variant, e.g. `fp16`. */
  variant?: string | null;
  /** A TAESD repo (diffusers `AutoencoderTiny` layout) for `decoder: 'taesd'` and previews. */
  taesd?: string | null;
  /**
   * `adapter` (the default) asks the device for the adapter's larger size limits, which cut
   * chunking; `default` keeps WebGPU's defaults (what every device has; the tests use it).
   */
  gpuLimits?: 'adapter' | 'default';
  /**
   * How the text encoder and UNet store activations: `auto` (the default) is f16 when the
   * weights are f16 and the device has shader-f16, halving activation memory; `f32` and `f16`
   * force one (`f16` needs shader-f16). A VAE with `force_upcast` always runs in f32.
   */
  activations?: 'auto' | 'f32' | 'f16';
}

/** A request without its signal and callback (those stay on the caller's side). */
export interface WireRequest {
  requestId: string;
  prompt: string;
  negativePrompt: string | null;
  numInferenceSteps?: number;
  guidanceScale?: number;
  height?: number;
  width?: number;
  seed: number;
  numOutputsPerPrompt: number;
  scheduler?: string;
  /** DDIM's eta; absent is 0. */
  eta?: number;
  returnTrajectoryLatents: boolean;
  /** Record the tensors between the networks (absent: false). */
  returnIntermediates?: boolean;
  decoder?: DecoderKind;
  latents?: Float32Array;
  /** img2img's init image: an own copy, so its buffer can be transferred to the worker. */
  image?: RgbaImageBytes;
  /** img2img's strength; the host applies the default when an image comes without one. */
  strength?: number;
  /** Whether to make a preview image each step (costs a small readback). */
  preview: boolean;
}

/** Progress of one step, as sent from the host. */
export interface WireProgress {
  step: number;
  total: number;
  elapsedMs: number;
  preview?: DiffusionImage;
}

export interface WireResult {
  images: DiffusionImage[];
  trajectoryLatents: Float32Array[] | null;
  trajectoryTimesteps: number[] | null;
  intermediates?: DiffusionIntermediates | null;
  metrics: DiffusionMetrics;
}

/** Facts about the loaded model and device, for UIs and logs. */
export interface HostInfo {
  adapter: string;
  features: string[];
  /** The size limits the device was granted (see `ModelSpec.gpuLimits`). */
  limits: Pick<GpuLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize' | 'maxComputeWorkgroupStorageSize'>;
  model: string;
  defaults: { steps: number; guidanceScale: number; height: number; width: number; scheduler: string };
}

/** GPU memory of the host's runtime, in bytes. */
export interface HostMemory {
  /** Held by tensors: the weights, plus activations while a request runs. */
  liveBytes: number;
  /** Largest `liveBytes` so far. */
  peakBytes: number;
  /** Every buffer the runtime owns, live or idle; idle ones are released after each request. */
  reservedBytes: number;
}

/** What a host without a loaded runtime reports. */
export const NO_HOST_MEMORY: Readonly<HostMemory> = Object.freeze({ liveBytes: 0, peakBytes: 0, reservedBytes: 0 });

/** The interface of the engine host, in-process or behind a worker (comlink). */
export interface EngineHostApi {
  load(spec: ModelSpec): Promise<HostInfo>;
  generate(request: WireRequest, onProgress?: (p: WireProgress) => void): Promise<WireResult>;
  cancel(requestId: string): void;
  memory(): HostMemory;
  /** Test hook: destroys the device, as a driver reset would. */
  loseDevice(): void;
  /** Test hook: a failure in the middle of the next request's recorded work (see `GpuFault`). */
  injectFault(fault: GpuFault): void;
  dispose(): Promise<void>;
}
