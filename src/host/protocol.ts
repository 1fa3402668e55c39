import type { GpuFault } from '../webgpu/fault.js';
import type { GpuLimits } from '../webgpu/limits.js';
import type { DTypeOption } from '../api/config.js';
import type { DiffusionImage } from '../api/image.js';
import type { EmbeddingConfig } from '../api/embeddings.js';
import type { DiffusionIntermediates, DiffusionMetrics } from '../api/output.js';
import type { LoadProgressCallback } from '../api/load-progress.js';
import type { ModelSource } from '../io/sources/model-source.js';
import type { ModelDefaults } from '../pipelines/model-defaults.js';
import type { JobRequest } from '../pipelines/resolve-job.js';

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
  /**
   * For a single-file checkpoint (`modelNameOrPath` ending in `.safetensors`): the diffusers repo
   * (Hub id, URL or folder) whose configs, tokenizer and scheduler go with its weights; null: the
   * published repo of the architecture its keys show (see `DiffusionConfigOptions.configFrom`).
   */
  configFrom?: string | null;
  /** Hub weights variant, e.g. `fp16`. */
  variant?: string | null;
  /** A TAESD repo (diffusers `AutoencoderTiny` layout) for `decoder: 'taesd'` and previews, or `auto` (by the model's family). */
  taesd?: string | null;
  /**
   * A VAE used instead of the model's `vae/` (diffusers' `vae=`): Hub id, URL or folder of an
   * `AutoencoderKL` (or `AutoencoderTiny`) with `config.json` and weights at its root, e.g.
   * `madebyollin/sdxl-vae-fp16-fix`. Its config's `force_upcast` decides the decode precision.
   */
  vae?: string | null;
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
  /** Textual-inversion embeddings to load with the model (see `DiffusionConfigOptions.embeddings`). */
  embeddings?: EmbeddingConfig[];
  /** A1111 `<lora:name:w>` tags in prompts resolve through this map: name → URL, file path or Hub path of the LoRA. */
  loraNames?: Record<string, string>;
}

/**
 * A request as it crosses to the host: `DiffusionRequest.toJSON()` with the init image read into
 * bytes of its own (so its buffer can be transferred), plus what the connection adds. Derived,
 * not hand-written, so a new request field reaches the host without touching this file.
 */
export type WireRequest = JobRequest & {
  /** Whether to make a preview image each step (costs a small readback). */
  preview: boolean;
};

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
  defaults: ModelDefaults;
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
  /**
   * Loads the model; `onLoadProgress` (a comlink proxy across a channel) receives its load events,
   * `ready` last. A host that already serves the model (a shared one) may send none.
   */
  load(spec: ModelSpec, onLoadProgress?: LoadProgressCallback): Promise<HostInfo>;
  generate(request: WireRequest, onProgress?: (p: WireProgress) => void): Promise<WireResult>;
  cancel(requestId: string): void;
  memory(): HostMemory;
  /** Test hook: destroys the device, as a driver reset would. */
  loseDevice(): void;
  /** Test hook: a failure in the middle of the next request's recorded work (see `GpuFault`). */
  injectFault(fault: GpuFault): void;
  dispose(): Promise<void>;
}
