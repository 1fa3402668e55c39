import { errorClassFor } from './error-registry.js';
import { serializeError, type SerializedError } from './error-transfer.js';
import { errorMessage } from './errors.js';
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

/**
 * Tensors from inside the denoising loop, for checking an executor against a reference
 * pipeline step by step. Flat float32 in C order (token ids int32); B = images per prompt.
 */
export interface DiffusionIntermediates {
  /**
   * The token ids the text encoder got, [rows, 77]: under guidance the B negative-prompt rows,
   * then the B prompt rows; else the B prompt rows. An SDXL negative prompt of zeros
   * (`force_zeros_for_empty_prompt`) is not encoded: then only the B prompt rows.
   */
  inputIds: Int32Array;
  /** The text encoder's `last_hidden_state` for the prompt, [B, 77, D] (diffusers' `prompt_embeds`). */
  promptEmbeds: Float32Array;
  /** The same for the negative prompt under guidance, else null. */
  negativePromptEmbeds: Float32Array | null;
  /** The latents the loop starts from, [B, C, h, w]: the initial noise times `init_noise_sigma` (img2img: the noised init image). */
  initialLatents: Float32Array;
  /** The raw UNet output of each step, before guidance is applied: [2B, C, h, w] under guidance (rows [uncond × B, cond × B]), else [B, C, h, w]. */
  unetOutputs: Float32Array[];
  /** SDXL: the rows of `inputIds` as `tokenizer_2` made them. */
  inputIds2?: Int32Array;
  /** SDXL: `pooled_prompt_embeds` [B, P], `text_encoder_2`'s projection (the UNet's `text_embeds`). */
  pooledPromptEmbeds?: Float32Array;
  /** SDXL: the same for the negative prompt under guidance (zeros when forced to), else null. */
  negativePooledPromptEmbeds?: Float32Array | null;
  /** SDXL: `add_time_ids` [UNet rows, 6], the UNet's `time_ids` at every step. */
  addTimeIds?: Float32Array;
}

/** The result of one request. `error` is null on success; on failure `images` is empty. */
export interface DiffusionOutput {
  requestId: string;
  images: DiffusionImage[];
  /** Null on success; on failure a one-line summary: the message, prefixed by the class name (`DeviceLimitError: The unet ...`). */
  error: string | null;
  /**
   * Kind of the error (`AbortError`, `RequestValidationError`, ...), null on success.
   * @deprecated Read `errorInfo.code` (stable) or `errorInfo.name`.
   */
  errorName?: string | null;
  /**
   * The failure as a serialisable record, null on success: `name`, `code`, `message` and the
   * error class's fields (`field`, `status`, `tensor`, `limit`, ...). `DiffusionEngine` always
   * sets it on a failed output, also across a worker; `deserializeError(errorInfo)` rebuilds
   * the error (`generate()` rejects with that).
   */
  errorInfo?: SerializedError | null;
  /** Latents after each step, when `returnTrajectoryLatents` was set: one Float32Array per step. */
  trajectoryLatents: Float32Array[] | null;
  trajectoryTimesteps: number[] | null;
  /** Tensors from inside the loop, when `returnIntermediates` was set and the executor records them (`webgpu`, `multiproc`, `external`). */
  intermediates?: DiffusionIntermediates | null;
  metrics: DiffusionMetrics;
}

/** Builds the output of a request that failed: `error`, `errorName` and `errorInfo` from `error`. */
export function failedOutput(requestId: string, error: unknown): DiffusionOutput {
  const info = serializeError(error);
  return {
    requestId,
    images: [],
    error: errorMessage(error),
    errorName: info.name,
    errorInfo: info,
    trajectoryLatents: null,
    trajectoryTimesteps: null,
    metrics: {},
  };
}

/**
 * The `errorInfo` of an output an executor built by hand with only `error` and `errorName`:
 * the class's code where the name is one of the library's, the message without its name prefix.
 */
export function errorInfoOf(error: string, errorName: string | null | undefined): SerializedError {
  const name = errorName || 'Error';
  const message = error.startsWith(`${name}: `) ? error.slice(name.length + 2) : error;
  const code = (errorClassFor(undefined, name)?.prototype as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? { name, code, message } : { name, message };
}
