import { TensorShapeError } from '../gpu/errors.js';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.js';
import { GpuRuntime } from '../gpu/runtime.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { TensorDType } from '../kernels/ops.js';
import { CLIPTextModel } from '../models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../models/clip/config.js';
import { AutoencoderTinyDecoder } from '../models/taesd/autoencoder-tiny-decoder.js';
import { parseAutoencoderTinyConfig } from '../models/taesd/config.js';
import { parseUNetConfig } from '../models/unet/config.js';
import { UNet2DConditionModel } from '../models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../models/vae/autoencoder-kl-decoder.js';
import { AutoencoderKLEncoder } from '../models/vae/autoencoder-kl-encoder.js';
import { parseAutoencoderKLConfig } from '../models/vae/config.js';
import { AttentionAuditOps } from './attention-audit.js';
import { PlanError } from './errors.js';
import { SyntheticStateDict } from './synthetic-weights.js';

/** The parsed `config.json` files of a diffusers model; only the UNet's is required. */
export interface PlanConfigs {
  /** `unet/config.json`. */
  unet: unknown;
  /** `vae/config.json`: an `AutoencoderKL` or, by its `_class_name`, an `AutoencoderTiny`. */
  vae?: unknown;
  /** `text_encoder/config.json`. */
  textEncoder?: unknown;
  /** Names the model in errors, e.g. its folder (default `model`). */
  source?: string;
}

/** What to plan for. */
export interface PlanModelOptions {
  /** Image size in pixels. */
  width: number;
  height: number;
  /** UNet and text-encoder batch: 2 for classifier-free guidance of one image. The VAE decodes one image. */
  batch: number;
  /** Storage precision of the weights. */
  dtype: TensorDType;
  /** Plan for a device with shader-f16 (default true); without it f16 is packed in u32 words, same bytes. */
  shaderF16?: boolean;
  /** Device limits; unspecified ones are the WebGPU defaults (128 MiB per storage binding). */
  limits?: Partial<GpuLimits>;
  /** UNet calls to plan in a row (default 2), each reported, to show the work per call is stable. */
  unetCalls?: number;
  /**
   * Plan image-to-image too: the VAE encoder, which the pipeline loads on the first such request
   * and keeps resident, encoding one image. A pixel-space model (no VAE) needs no encoder.
   */
  img2img?: boolean;
}

export type ComponentName = 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder';

/** Device memory and work of one component, planned on its own plan-mode runtime. */
export interface ComponentPlan {
  readonly name: ComponentName;
  /** The input planned: token ids [B, L], latents [B, C, h, w] or an image [1, C, H, W]. */
  readonly input: readonly number[];
  readonly parameters: number;
  /** Pool bytes holding the weights (buffers round up to their size bucket). */
  readonly weightsBytes: number;
  /** Peak pool bytes during a call beyond the weights: inputs, activations and output. */
  readonly peakActivationBytes: number;
  /** Largest single storage binding of any dispatch, weights included. */
  readonly largestBindingBytes: number;
  /** Largest single buffer allocated. */
  readonly maxAllocationBytes: number;
  /** Pool bytes held after the calls without trimming (weights plus idle buffers kept for reuse). */
  readonly reservedBytes: number;
  /** Dispatches of each call. */
  readonly dispatchesPerCall: readonly number[];
  readonly attentionCalls: number;
  /** Bytes of the largest attention score matrix (B·heads·Lq·Lk float32) a naive attention would store. */
  readonly largestScoreMatrixBytes: number;
  /** Buffers at least as large as their attention's score matrix, allocated inside the attention call. */
  readonly scoreMatrixBuffers: number;
  /** Pool bytes still live after every call's inputs and outputs were released (beyond the weights). */
  readonly leakedBytes: number;
  /**
   * Why the component cannot run under these limits (the runtime's `TensorShapeError`), or null.
   * When set, the byte and dispatch counts are those reached before the failure.
   */
  readonly error: string | null;
}

/** A plan of a whole text-to-image model at one image size; see `planModel`. */
export interface PlanReport {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly dtype: TensorDType;
  readonly shaderF16: boolean;
  readonly limits: GpuLimits;
  /** Whether the VAE encoder of image-to-image was planned (when the model has a VAE). */
  readonly img2img: boolean;
  readonly components: readonly ComponentPlan[];
  /** Weights of every component: all stay resident while the pipeline runs. */
  readonly weightsBytes: number;
  /** The largest activation peak of the components that planned without error (as are the binding and allocation maxima). */
  readonly peakActivationBytes: number;
  /** `weightsBytes + peakActivationBytes`: the device memory a generation needs. */
  readonly peakBytes: number;
  readonly largestBindingBytes: number;
  readonly maxAllocationBytes: number;
  /** Dispatches of one UNet call. */
  readonly dispatchesPerUnet: number;
  readonly scoreMatrixBuffers: number;
  /** Every component planned under the limits. */
  readonly withinLimits: boolean;
}

/** Text-encoder sequence length: Stable Diffusion pads every prompt to CLIP's 77 positions. */
const TEXT_TOKENS = 77;
/** A timestep in the model's trained range; plan mode does no math, so any one will do. */
const TIMESTEP = 999;

/**
 * Plans a Stable Diffusion model from its configs alone: builds each component on a plan-mode
 * runtime (no device, no math) with generated weights, runs one call at the given size (the UNet
 * `unetCalls` times at `batch`, the text encoder at `batch`×77 tokens, the VAE decoder on one
 * image, with `img2img` the VAE encoder on one image) and reports device memory split into weights and activations, the largest binding and
 * allocation, dispatch counts, and a check that no attention stores its full score matrix.
 *
 * A component that exceeds a device limit is reported with `error` rather than thrown; config
 * errors (`ModelConfigError`) and bad options (`PlanError`) throw.
 */
export function planModel(configs: PlanConfigs, options: PlanModelOptions): PlanReport {
  const source = configs.source ?? 'model';
  const unetConfig = parseUNetConfig(configs.unet, `${source}/unet/config.json`);
  const decoder = configs.vae === undefined ? null : parseDecoder(configs.vae, `${source}/vae/config.json`);
  const textConfig = configs.textEncoder === undefined ? null : parseCLIPTextConfig(configs.textEncoder, `${source}/text_encoder/config.json`);
  checkOptions(options);
  const vaeFactor = decoder?.scaleFactor ?? 8;
  const unetFactor = 2 ** (unetConfig.blockOutChannels.length - 1);
  for (const [field, px] of [['width', options.width], ['height', options.height]] as const) {
    if (px % (vaeFactor * unetFactor) !== 0) {
      throw new PlanError(`${field} ${px} is not a multiple of ${vaeFactor * unetFactor} (the VAE's factor ${vaeFactor} times the UNet's downsampling ${unetFactor}).`);
    }
  }
  const h = options.height / vaeFactor;
  const w = options.width / vaeFactor;
  const B = options.batch;
  const newOps = (): AttentionAuditOps =>
    new AttentionAuditOps(GpuRuntime.plan({ shaderF16: options.shaderF16 ?? true, ...(options.limits ? { limits: options.limits } : {}) }));
  const weightOptions = { dtype: options.dtype };

  const components: ComponentPlan[] = [];
  if (textConfig) {
    components.push(
      planComponent('text_encoder', [B, TEXT_TOKENS], newOps(), `${source}/text_encoder`, (ops, dict) => {
        const model = CLIPTextModel.load(ops, textConfig, dict, weightOptions);
        return {
          calls: 1,
          call: () => {
            const out = model.forward(new Int32Array(B * TEXT_TOKENS), [B, TEXT_TOKENS]);
            ops.release(out.poolerOutput);
            ops.release(out.lastHiddenState);
          },
          release: () => model.release(),
        };
      }),
    );
  }
  components.push(
    planComponent('unet', [B, unetConfig.inChannels, h, w], newOps(), `${source}/unet`, (ops, dict) => {
      const model = UNet2DConditionModel.load(ops, unetConfig, dict, weightOptions);
      return {
        calls: options.unetCalls ?? 2,
        call: () => {
          const inputs = [
            zeros(ops, [B, unetConfig.inChannels, h, w]),
            zeros(ops, [B, TEXT_TOKENS, unetConfig.crossAttentionDim]),
            ...(unetConfig.timeCondProjDim === null ? [] : [zeros(ops, [B, unetConfig.timeCondProjDim])]),
          ] as const;
          const [sample, context, cond] = inputs;
          ops.release(model.forward(sample, [TIMESTEP], context, cond));
          for (const t of inputs) ops.release(t);
        },
        release: () => model.release(),
      };
    }),
  );
  if (decoder) {
    const latent = [1, decoder.latentChannels, h, w];
    components.push(
      planComponent('vae_decoder', latent, newOps(), `${source}/vae`, (ops, dict) => {
        const model = decoder.load(ops, dict, weightOptions);
        return oneCall(ops, latent, model, (x) => model.decode(x));
      }),
    );
  }
  if (decoder && options.img2img) {
    const encoder = decoder.encoder;
    if (!encoder) throw new PlanError(`img2img needs a VAE encoder, and ${source}/vae/config.json describes an AutoencoderTiny, whose encoder omni-diffusion does not run.`);
    const image = [1, encoder.inChannels, options.height, options.width];
    components.push(
      planComponent('vae_encoder', image, newOps(), `${source}/vae`, (ops, dict) => {
        const model = encoder.load(ops, dict, weightOptions);
        return oneCall(ops, image, model, (x) => model.encode(x));
      }),
    );
  }

  const planned = components.filter((c) => c.error === null);
  const unet = components.find((c) => c.name === 'unet')!;
  const weightsBytes = sum(components.map((c) => c.weightsBytes));
  const peakActivationBytes = Math.max(0, ...planned.map((c) => c.peakActivationBytes));
  return {
    width: options.width,
    height: options.height,
    batch: B,
    dtype: options.dtype,
    shaderF16: options.shaderF16 ?? true,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    img2img: options.img2img ?? false,
    components,
    weightsBytes,
    peakActivationBytes,
    peakBytes: weightsBytes + peakActivationBytes,
    largestBindingBytes: Math.max(0, ...planned.map((c) => c.largestBindingBytes)),
    maxAllocationBytes: Math.max(0, ...planned.map((c) => c.maxAllocationBytes)),
    dispatchesPerUnet: unet.dispatchesPerCall[0] ?? 0,
    scoreMatrixBuffers: sum(components.map((c) => c.scoreMatrixBuffers)),
    withinLimits: planned.length === components.length,
  };
}

/** A loaded component: how to call it once, how many times to, and how to free it. */
interface PlannedModel {
  calls: number;
  call(): void;
  release(): void;
}

/** A model planned with one call on a zero input of `shape`. */
function oneCall(ops: AttentionAuditOps, shape: readonly number[], model: { release(): void }, forward: (x: GpuTensor) => GpuTensor): PlannedModel {
  return {
    calls: 1,
    call: () => {
      const x = zeros(ops, shape);
      ops.release(forward(x));
      ops.release(x);
    },
    release: () => model.release(),
  };
}

/** The VAE decoder a `vae/config.json` describes, its image-to-latent size factor, and its encoder when one runs. */
interface DecoderPlan {
  latentChannels: number;
  scaleFactor: number;
  load(ops: AttentionAuditOps, dict: SyntheticStateDict, options: { dtype: TensorDType }): { decode(latents: GpuTensor): GpuTensor; release(): void };
  encoder: EncoderPlan | null;
}

interface EncoderPlan {
  inChannels: number;
  load(ops: AttentionAuditOps, dict: SyntheticStateDict, options: { dtype: TensorDType }): { encode(image: GpuTensor): GpuTensor; release(): void };
}

function parseDecoder(json: unknown, file: string): DecoderPlan {
  const className = json !== null && typeof json === 'object' ? (json as Record<string, unknown>)['_class_name'] : undefined;
  if (className === 'AutoencoderTiny') {
    const c = parseAutoencoderTinyConfig(json, file);
    return {
      latentChannels: c.latentChannels,
      scaleFactor: 2 ** (c.decoderBlockOutChannels.length - 1),
      load: (ops, dict, o) => AutoencoderTinyDecoder.load(ops, c, dict, o),
      encoder: null,
    };
  }
  const c = parseAutoencoderKLConfig(json, file);
  return {
    latentChannels: c.latentChannels,
    scaleFactor: 2 ** (c.blockOutChannels.length - 1),
    load: (ops, dict, o) => AutoencoderKLDecoder.load(ops, c, dict, o),
    encoder: { inChannels: c.inChannels, load: (ops, dict, o) => AutoencoderKLEncoder.load(ops, c, dict, o) },
  };
}

function checkOptions(o: PlanModelOptions): void {
  for (const field of ['width', 'height', 'batch'] as const) {
    if (!Number.isInteger(o[field]) || o[field] < 1) throw new PlanError(`${field} = ${o[field]} must be a positive integer.`);
  }
  if (o.dtype !== 'f16' && o.dtype !== 'f32') throw new PlanError(`dtype = ${String(o.dtype)} must be "f16" or "f32".`);
  if (o.unetCalls !== undefined && (!Number.isInteger(o.unetCalls) || o.unetCalls < 1)) throw new PlanError(`unetCalls = ${o.unetCalls} must be a positive integer.`);
}

function planComponent(
  name: ComponentName,
  input: readonly number[],
  ops: AttentionAuditOps,
  file: string,
  build: (ops: AttentionAuditOps, dict: SyntheticStateDict) => PlannedModel,
): ComponentPlan {
  const rt = ops.runtime;
  const dict = new SyntheticStateDict(`${file} (generated weights)`);
  const dispatchesPerCall: number[] = [];
  let weightsBytes = 0;
  let peakActivationBytes = 0;
  let leakedBytes = 0;
  let error: string | null = null;
  let model: PlannedModel | null = null;
  try {
    model = build(ops, dict);
    weightsBytes = rt.pool.stats.liveBytes;
    for (let i = 0; i < model.calls; i++) {
      rt.resetPeak();
      const before = rt.stats.dispatches;
      model.call();
      rt.flush();
      dispatchesPerCall.push(rt.stats.dispatches - before);
      peakActivationBytes = Math.max(peakActivationBytes, rt.pool.stats.peakBytes - weightsBytes);
    }
    leakedBytes = rt.pool.stats.liveBytes - weightsBytes;
  } catch (err) {
    if (!(err instanceof TensorShapeError)) throw err;
    error = `${err.name}: ${err.message}`;
    // A failed load has released what it uploaded; its peak is the weights it got through.
    if (model) peakActivationBytes = Math.max(peakActivationBytes, rt.pool.stats.peakBytes - weightsBytes);
    else weightsBytes = rt.pool.stats.peakBytes;
  }
  const reservedBytes = rt.pool.stats.reservedBytes;
  model?.release();
  return {
    name,
    input,
    parameters: dict.parameters,
    weightsBytes,
    peakActivationBytes,
    largestBindingBytes: rt.stats.largestBindingBytes,
    maxAllocationBytes: rt.pool.stats.largestAllocation,
    reservedBytes,
    dispatchesPerCall,
    attentionCalls: ops.calls,
    largestScoreMatrixBytes: ops.largestScoreMatrixBytes,
    scoreMatrixBuffers: ops.scoreMatrixBuffers,
    leakedBytes,
    error,
  };
}

function zeros(ops: AttentionAuditOps, shape: readonly number[]): GpuTensor {
  return ops.upload(new Float32Array(shape.reduce((n, d) => n * d, 1)), shape);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
