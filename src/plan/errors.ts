import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';

/** A memory plan could not be set up: a missing or unreadable config, or bad plan options. The message names the file or option. Code `PLAN_FAILED`. */
export class PlanError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'PlanError', 'PLAN_FAILED');
  }
}

/** The device limits a model or request can run into, by their `GPUSupportedLimits` names. */
export type DeviceLimitName = 'maxStorageBufferBindingSize' | 'maxBufferSize' | 'maxComputeWorkgroupStorageSize' | 'maxComputeWorkgroupsPerDimension';

/** What `DeviceLimitError` knows about the violation. */
export interface DeviceLimitDetails {
  /** The pipeline component that does not fit: `text_encoder`, `text_encoder_2`, `unet`, `vae_decoder`, `taesd_decoder`, `vae_encoder`. */
  readonly component: string;
  /** What it was planned at, e.g. `512×512, batch 4`. */
  readonly at: string;
  /** The tensor, e.g. `[1,256,512,512] f32`, or the kernel need, e.g. `attention: head size 512`. */
  readonly tensor: string;
  /** Bytes the tensor (or the kernel's workgroup memory) needs; null when the limit is not in bytes. */
  readonly bytes: number | null;
  readonly limit: DeviceLimitName;
  /** The device's value of `limit`. */
  readonly limitValue: number;
  /** What the caller can do instead (a smaller size, the TAESD decoder, fewer images); empty when none is known. */
  readonly advice?: string;
  /** The runtime's own message (why the runtime cannot split it further), kept out of `message` and here for debugging. */
  readonly detail: string;
}

/**
 * A model or request needs more than the GPU device's limits allow, even with the chunking the
 * runtime and the models do: a tensor larger than one storage binding that cannot be split,
 * or a kernel needing more workgroup memory than the device has. The `webgpu` executor throws it
 * for a request before any GPU work or download (a model that fits at no size fails its load
 * with `ExecutorUnavailableError`, this as `cause`); `omni-diffusion plan` reports it per
 * component. `tensor`, `bytes`, `limit` and `limitValue` say what does not fit; the message ends
 * with what to do (`advice`).
 * Code `DEVICE_LIMIT`.
 */
export class DeviceLimitError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'DeviceLimitError', 'DEVICE_LIMIT');
  }

  readonly component: string;
  readonly at: string;
  readonly tensor: string;
  readonly bytes: number | null;
  readonly limit: DeviceLimitName;
  readonly limitValue: number;
  readonly advice: string;
  readonly detail: string;

  constructor(d: DeviceLimitDetails, options?: { cause?: unknown }) {
    const need = d.bytes === null ? `${d.tensor} exceeds` : d.tensor.startsWith('tensor ') ? `${d.tensor} (${d.bytes} bytes) does not fit` : `${d.tensor} needs ${d.bytes} bytes, more than`;
    const advice = d.advice ? ` ${d.advice}` : '';
    super(`The ${d.component} at ${d.at} does not fit this GPU: ${need} ${d.limit} = ${d.limitValue}.${advice}`, options);
    this.component = d.component;
    this.at = d.at;
    this.tensor = d.tensor;
    this.bytes = d.bytes;
    this.limit = d.limit;
    this.limitValue = d.limitValue;
    this.advice = d.advice ?? '';
    this.detail = d.detail;
  }

  /** The same violation with `advice` appended to the message. */
  withAdvice(advice: string): DeviceLimitError {
    const { component, at, tensor, bytes, limit, limitValue, detail } = this;
    return new DeviceLimitError({ component, at, tensor, bytes, limit, limitValue, detail, advice }, { cause: this.cause });
  }
}
