import type { DecoderKind } from '../api/request.js';
import { ExecutorUnavailableError } from '../api/errors.js';
import type { GpuCapabilities } from '../webgpu/limits.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import { COMPONENTS } from '../models/registry.js';
import type { DeviceLimitError } from '../plan/errors.js';
import { planModel, type PlanConfigs, type PlanReport } from '../plan/plan-model.js';
import type { QuantPolicy } from '../quant/policy.js';
import { storedWeightBytes } from '../quant/stored-bytes.js';
import { componentPolicy, type CheckpointQuantPolicies } from '../quant/checkpoint-policies.js';

/** A request as the components see it. */
export interface FitRequest {
  width: number;
  height: number;
  /** UNet and text-encoder batch: twice the images under classifier-free guidance. */
  batch: number;
  /** Images decoded together. */
  images: number;
  decoder: DecoderKind;
  /** img2img: the VAE encoder runs on the init image. */
  img2img: boolean;
}

/** Distinct request shapes remembered; beyond it the oldest is planned again when it comes back. */
const CACHE_SIZE = 64;

/**
 * A dry run of the pipeline's components in plan mode (`planModel`: the same model code, no
 * GPU work, no weights) under the device's actual limits, so that a request the device cannot
 * run, even with the chunking the runtime and the models do, fails with a `DeviceLimitError`
 * before any download or compute instead of partway through a generation. Results are cached
 * per request shape (size, batch, images, decoder, img2img); a plan of Stable Diffusion takes
 * a fraction of a second and no device memory.
 */
export class DeviceFitCheck {
  readonly #configs: PlanConfigs;
  readonly #device: GpuCapabilities;
  readonly #dtype: TensorDType;
  readonly #latentScale: number;
  /** Image sides must be multiples of this (the VAE's factor) to run; other sizes are left to the request's own error. */
  readonly #granularity: number;
  readonly #cache = new Map<string, DeviceLimitError | null>();
  readonly #quantize: QuantPolicy | null;
  readonly #byCheckpoint: CheckpointQuantPolicies;
  readonly #activations: TensorDType;

  /**
   * `configs`: the model's parsed config files (and TAESD's, when one is loaded); `device`: the
   * capabilities of the runtime the pipeline runs on; `latentScale`: image pixels per latent
   * pixel (the VAE's factor, 1 for a pixel-space model); `quantize`: the weights stored
   * quantized, model-wide, and `byCheckpoint` the components quantized otherwise (a pre-quantized
   * repo's, see `PlanModelOptions.quantizeByCheckpoint`); `activations`: how the pipeline stores
   * them (f16 halves the text encoders' and UNet's; a `force_upcast` VAE stays f32), so that a
   * request that fits in f16 is not refused by an f32 plan.
   */
  constructor(
    configs: PlanConfigs,
    device: GpuCapabilities,
    dtype: TensorDType,
    latentScale: number,
    quantize: QuantPolicy | null = null,
    byCheckpoint: CheckpointQuantPolicies = {},
    activations: TensorDType = 'f32',
  ) {
    this.#configs = configs;
    this.#activations = activations;
    this.#quantize = quantize;
    this.#byCheckpoint = byCheckpoint;
    this.#device = device;
    this.#dtype = dtype;
    this.#latentScale = latentScale;
    // Parsed here so that a broken UNet config fails the load before any plan.
    COMPONENTS.unet.parseConfig(configs.unet, `${configs.source ?? 'model'}/unet/config.json`);
    this.#granularity = latentScale;
  }

  /**
   * Throws `ExecutorUnavailableError` (so the engine can fall back) when no request at all can
   * run on this device: a component fails at the smallest image size, one image, no guidance.
   * A VAE decoder that fails is fatal only when there is no TAESD decoder to use instead.
   */
  checkModel(): void {
    const smallest = { width: this.#granularity, height: this.#granularity, batch: 1, images: 1, img2img: false };
    let error = this.#plan({ ...smallest, decoder: 'vae' });
    if (error?.component === 'vae_decoder' && this.#configs.taesd !== undefined) error = this.#plan({ ...smallest, decoder: 'taesd' });
    if (error) {
      throw new ExecutorUnavailableError(`This GPU cannot run ${this.#configs.source ?? 'the model'} at any size. ${error.name}: ${error.message}`, { cause: error });
    }
  }

  /**
   * Device bytes of the weights a load writes: the parameters of the text encoders, the UNet, the
   * VAE slot's decoder and a TAESD decoder, as the plan builds them from the configs, stored as
   * the load's dtype. What `upload` progress counts up to.
   */
  weightBytes(): number {
    const smallest = { width: this.#granularity, height: this.#granularity, batch: 1, images: 1, img2img: false };
    const bytes = (r: PlanReport, names: readonly string[]): number =>
      r.components
        .filter((c) => names.includes(c.name))
        .flatMap((c) => c.weights.map((w) => ({ ...w, policy: componentPolicy(c.name, this.#quantize, this.#byCheckpoint) })))
        .reduce((n, w) => n + storedWeightBytes(w.key, w.shape, this.#dtype, w.policy), 0);
    let total = bytes(this.#report({ ...smallest, decoder: 'vae' }), ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']);
    if (this.#configs.taesd !== undefined) total += bytes(this.#report({ ...smallest, decoder: 'taesd' }), ['taesd_decoder']);
    return total;
  }

  /**
   * Throws `DeviceLimitError` when `request` cannot run on this device, naming the component,
   * the tensor, its bytes, the limit and what to do instead. Sizes the VAE cannot divide are
   * not planned (the model reports them itself).
   */
  check(request: FitRequest): void {
    if (request.width % this.#granularity !== 0 || request.height % this.#granularity !== 0) return;
    const decoder = request.decoder === 'taesd' && this.#configs.taesd === undefined ? 'vae' : request.decoder;
    const req: FitRequest = { ...request, decoder };
    const key = `${req.width}x${req.height}:${req.batch}:${req.images}:${req.decoder}:${req.img2img}`;
    let error = this.#cache.get(key);
    if (error === undefined) {
      const found = this.#plan(req);
      error = found && found.withAdvice(this.#advice(req, found));
      if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, error);
    }
    if (error) throw error;
  }

  /** The first component (in pipeline order) that does not fit, or null. */
  #plan(req: FitRequest): DeviceLimitError | null {
    return firstError(this.#report(req));
  }

  #report(req: FitRequest): PlanReport {
    return planModel(this.#configs, {
      width: req.width,
      height: req.height,
      batch: req.batch,
      images: req.images,
      decoder: req.decoder,
      img2img: req.img2img && this.#configs.vae !== undefined,
      dtype: this.#dtype,
      activations: this.#activations,
      quantize: this.#quantize,
      quantizeByCheckpoint: this.#byCheckpoint,
      shaderF16: this.#device.shaderF16,
      limits: this.#device.limits,
      unetCalls: 1,
      latentScale: this.#latentScale,
    });
  }

  /**
   * What to do instead, tried in plan mode so that each suggestion is one that fits: fewer
   * images, the TAESD decoder, or the largest smaller size (same aspect) that runs.
   */
  #advice(req: FitRequest, error: DeviceLimitError): string {
    const fits = (r: FitRequest): boolean => this.#plan(r) === null;
    const options: string[] = [];
    const perImage = req.batch / req.images;
    if (req.images > 1 && fits({ ...req, images: 1, batch: perImage })) options.push('one image per request (numOutputsPerPrompt: 1)');
    if (error.component === 'vae_decoder') {
      if (this.#configs.taesd === undefined) options.push("the TAESD decoder (load one with the config field `taesd`, then request decoder: 'taesd')");
      else if (fits({ ...req, decoder: 'taesd' })) options.push("the TAESD decoder (decoder: 'taesd')");
    }
    const smaller = this.#largestFitting(req);
    if (smaller) options.push(`a smaller size (${smaller.width}×${smaller.height} fits)`);
    if (options.length === 0) return 'No smaller size fits either: use a device with higher limits, or the http executor.';
    return `Try ${options.join(', or ')}.`;
  }

  /**
   * The largest size of the request's aspect ratio, in steps a request and the UNet both take, that
   * fits (a binary search over plans: a dozen at most), or null when even the smallest does not.
   */
  #largestFitting(req: FitRequest): { width: number; height: number } | null {
    // Requests take multiples of 8 (RequestValidationError otherwise), the UNet multiples of its granularity.
    const g = lcm(this.#granularity, 8);
    const long = Math.max(req.width, req.height);
    const at = (steps: number): FitRequest => ({
      ...req,
      width: Math.max(g, Math.floor((req.width * steps * g) / long / g) * g),
      height: Math.max(g, Math.floor((req.height * steps * g) / long / g) * g),
    });
    const fits = (steps: number): boolean => this.#plan(at(steps)) === null;
    let lo = 1;
    let hi = long / g;
    if (hi <= lo || !fits(lo)) return null;
    // Invariant: `lo` steps fit, `hi` steps (the request) do not.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    const { width, height } = at(lo);
    return { width, height };
  }
}

function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

function firstError(report: PlanReport): DeviceLimitError | null {
  return report.components.find((c) => c.error !== null)?.error ?? null;
}
