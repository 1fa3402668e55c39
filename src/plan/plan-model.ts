import { DEFAULT_LIMITS, type GpuLimits } from '../webgpu/limits.js';
import { GpuRuntime } from '../webgpu/runtime.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import { TIME_IDS_PER_ROW } from '../models/unet/config.js';
import { COMPONENTS, loadVaeDecoder, parseVaeComponent, vaeScaleFactor, type VaeComponent } from '../models/registry.js';
import { AttentionAuditOps } from './attention-audit.js';
import { maxBindingBytes } from './binding-limit.js';
import { PlanError } from './errors.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES, type QuantizedDType, type QuantPolicy } from '../quant/policy.js';
import { storedWeightBytes } from '../quant/stored-bytes.js';
import { componentPolicy, type CheckpointQuantPolicies } from '../quant/checkpoint-policies.js';
import { callOn, planComponent, planInput, type ComponentPlan } from './plan-component.js';

export type { ComponentName, ComponentPlan } from './plan-component.js';

/** The parsed `config.json` files of a diffusers model; only the UNet's is required. */
export interface PlanConfigs {
  /** `unet/config.json`. */
  unet: unknown;
  /** `vae/config.json`: an `AutoencoderKL` or, by its `_class_name`, an `AutoencoderTiny`. */
  vae?: unknown;
  /** `text_encoder/config.json`. */
  textEncoder?: unknown;
  /** SDXL's `text_encoder_2/config.json` (a `CLIPTextModelWithProjection`). */
  textEncoder2?: unknown;
  /** A TAESD repo's `config.json` (diffusers `AutoencoderTiny`): the decoder planned with `decoder: 'taesd'`. */
  taesd?: unknown;
  /** Names the model in errors, e.g. its folder (default `model`). */
  source?: string;
}

/** What to plan for. */
export interface PlanModelOptions {
  /** Image size in pixels. */
  width: number;
  height: number;
  /** UNet and text-encoder batch: 2 for classifier-free guidance of one image. */
  batch: number;
  /** Storage precision of the weights. */
  dtype: TensorDType;
  /**
   * Storage precision of the activations (default f32): what the pipeline runs with `f16`, i.e.
   * f16 weights on a shader-f16 device (its `activations: 'auto'`), is `f16`. As in the pipeline,
   * a VAE whose config sets `force_upcast` still decodes and encodes in f32; TAESD follows this.
   */
  activations?: TensorDType;
  /** Weights stored quantized (see `QuantPolicy`); the rest are `dtype`. */
  quantize?: QuantPolicy | null;
  /** Components quantized otherwise (a pre-quantized repo's, by checkpoint folder): each replaces `quantize` for its folder. */
  quantizeByCheckpoint?: CheckpointQuantPolicies;
  /** Images the decoder decodes in one call (default 1); the pipeline decodes all images of a request together. */
  images?: number;
  /** The decoder to plan: the VAE's (default) or TAESD (`configs.taesd`), which the pipeline uses for `decoder: 'taesd'`. */
  decoder?: 'vae' | 'taesd';
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
  /**
   * Image pixels per latent pixel when `configs.vae` is absent: 8 (the default) plans a UNet
   * alone as Stable Diffusion's, 1 a pixel-space model (no VAE).
   */
  latentScale?: number;
}

/** A component's plan and the device bytes of its phase of a generation. */
export interface PlannedComponent extends ComponentPlan {
  /** Device bytes while it runs: the weights of every component (all stay resident) plus its activation peak. */
  readonly peakBytes: number;
}

/** A plan of a whole text-to-image model at one image size; see `planModel`. */
export interface PlanReport {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  /** Images decoded together. */
  readonly images: number;
  readonly decoder: 'vae' | 'taesd';
  readonly dtype: TensorDType;
  /** Activation storage of the text encoders, UNet and TAESD (a `force_upcast` VAE runs in f32). */
  readonly activations: TensorDType;
  readonly shaderF16: boolean;
  readonly limits: GpuLimits;
  /** Whether the VAE encoder of image-to-image was planned (when the model has a VAE). */
  readonly img2img: boolean;
  /** In pipeline order: text encoder, UNet, decoder, then the VAE encoder with `img2img`. */
  readonly components: readonly PlannedComponent[];
  /** Weights of every component: all stay resident while the pipeline runs. */
  readonly weightsBytes: number;
  /**
   * The same weights' bytes as each dtype stores them (`storedWeightBytes`): `f32`, `f16`, and
   * `int8`/`int4` under `defaultQuantPolicy` (quantized matmul and conv weights, the rest f16).
   */
  readonly weightBytesByDtype: Readonly<Record<'f32' | 'f16' | QuantizedDType, number>>;
  /** The largest activation peak of the components that planned without error (as are the binding and allocation maxima). */
  readonly peakActivationBytes: number;
  /** `weightsBytes + peakActivationBytes`: the device memory a generation needs. */
  readonly peakBytes: number;
  readonly largestBindingBytes: number;
  readonly maxAllocationBytes: number;
  /** Dispatches of one UNet call. */
  readonly dispatchesPerUnet: number;
  readonly scoreMatrixBuffers: number;
  /** Every component planned under the limits (else each failing one has its `error`). */
  readonly withinLimits: boolean;
}

/** Text-encoder sequence length: Stable Diffusion pads every prompt to CLIP's 77 positions. */
const TEXT_TOKENS = 77;
/** A timestep in the model's trained range; plan mode does no math, so any one will do. */
const TIMESTEP = 999;

/**
 * Plans a Stable Diffusion model from its configs alone: builds each component on a plan-mode
 * runtime (no device, no math) with generated weights, runs it at the given size (the UNet
 * `unetCalls` times at `batch`, the text encoder at `batch`×77 tokens, the decoder on `images`
 * latents, with `img2img` the VAE encoder on one image) and reports device memory split into
 * weights and activations, per component and for the whole generation, the largest binding and
 * allocation, dispatch counts, and a check that no attention stores its full score matrix.
 * Models see the limits as the pipeline gives them (the UNet chunks its feed-forward to fit).
 *
 * A component that exceeds a device limit is reported with `error` (a `DeviceLimitError` naming
 * the tensor, its bytes and the limit) and the others are still planned; config errors
 * (`ModelConfigError`) and bad options (`PlanError`) throw.
 */
export function planModel(configs: PlanConfigs, options: PlanModelOptions): PlanReport {
  const source = configs.source ?? 'model';
  const unetConfig = COMPONENTS.unet.parseConfig(configs.unet, `${source}/unet/config.json`);
  const vae = configs.vae === undefined ? null : parseVaeComponent(configs.vae, `${source}/vae/config.json`);
  const textConfig = configs.textEncoder === undefined ? null : COMPONENTS.text_encoder.parseConfig(configs.textEncoder, `${source}/text_encoder/config.json`);
  const text2Config = configs.textEncoder2 === undefined ? null : COMPONENTS.text_encoder.parseConfig(configs.textEncoder2, `${source}/text_encoder_2/config.json`);
  checkOptions(options);
  const decoderKind = options.decoder ?? 'vae';
  const decoder = decoderKind === 'taesd' ? taesdDecoder(configs, source) : vae;
  const latentScale = vae ? vaeScaleFactor(vae) : (options.latentScale ?? 8);
  // Any latent size runs: the UNet pads what does not halve evenly and upsamples back to its skips' sizes.
  for (const [field, px] of [['width', options.width], ['height', options.height]] as const) {
    if (px % latentScale !== 0) throw new PlanError(`${field} ${px} is not a multiple of ${latentScale} (the VAE's factor ${latentScale}).`);
  }
  const h = options.height / latentScale;
  const w = options.width / latentScale;
  const B = options.batch;
  const images = options.images ?? 1;
  const shaderF16 = options.shaderF16 ?? true;
  const activations = options.activations ?? 'f32';
  if (activations === 'f16' && !shaderF16) throw new PlanError('activations = f16 needs a device with shader-f16 (shaderF16: true).');
  /** The VAE's activations, as the pipeline picks them: f32 when its config sets `force_upcast` (it overflows in fp16). */
  const vaeActivations = (kind: 'vae' | 'taesd'): TensorDType => (kind === 'vae' && vae?.kind === 'vae_decoder' && vae.config.forceUpcast ? 'f32' : activations);
  const limits: GpuLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const newOps = (): AttentionAuditOps => new AttentionAuditOps(GpuRuntime.plan({ shaderF16, limits }));
  const weightOptionsOf = (component: string): { dtype: TensorDType; quantize: QuantPolicy | null } => ({
    dtype: options.dtype,
    quantize: componentPolicy(component, options.quantize ?? null, options.quantizeByCheckpoint),
  });
  const at = (input: readonly number[]): string => `${options.width}×${options.height}, input [${input.join(',')}]`;

  const components: ComponentPlan[] = [];
  for (const [name, config] of [['text_encoder', textConfig], ['text_encoder_2', text2Config]] as const) {
    if (!config) continue;
    const input = [B, TEXT_TOKENS];
    components.push(
      planComponent(name, input, at(input), newOps(), `${source}/${name}`, (ops, dict) => {
        const model = COMPONENTS.text_encoder.load(ops, config, dict, weightOptionsOf(name));
        return {
          calls: 1,
          call: () => {
            const out = ops.runtime.withActivations(activations, () => model.forward(new Int32Array(B * TEXT_TOKENS), [B, TEXT_TOKENS]));
            for (const t of [out.poolerOutput, out.lastHiddenState, out.textEmbeds]) if (t) ops.release(t);
          },
          release: () => model.release(),
        };
      }),
    );
  }
  const latents = [B, unetConfig.inChannels, h, w];
  components.push(
    planComponent('unet', latents, at(latents), newOps(), `${source}/unet`, (ops, dict) => {
      const model = COMPONENTS.unet.load(ops, unetConfig, dict, { ...weightOptionsOf('unet'), maxBindingBytes: maxBindingBytes(limits) });
      return {
        calls: options.unetCalls ?? 2,
        call: () => {
          const inputs = [
            planInput(ops, latents),
            planInput(ops, [B, TEXT_TOKENS, unetConfig.crossAttentionDim]),
            ...(unetConfig.timeCondProjDim === null ? [] : [planInput(ops, [B, unetConfig.timeCondProjDim])]),
          ] as const;
          const [sample, context, cond] = inputs;
          // SDXL's added conditions: the pooled text embedding, and six size ids per row (any
          // values: plan mode does no math).
          const added = unetConfig.additionEmbed && {
            textEmbeds: planInput(ops, [B, unetConfig.additionEmbed.pooledDim]),
            timeIds: new Array<number>(B * TIME_IDS_PER_ROW).fill(0),
          };
          ops.release(ops.runtime.withActivations(activations, () => model.forward(sample, [TIMESTEP], context, cond, added ?? undefined)));
          for (const t of inputs) ops.release(t);
          if (added) ops.release(added.textEmbeds);
        },
        release: () => model.release(),
      };
    }),
  );
  if (decoder) {
    const input = [images, decoder.config.latentChannels, h, w];
    // Named by the slot it fills: an AutoencoderTiny in vae/ is the model's VAE decoder.
    const name = decoderKind === 'taesd' ? 'taesd_decoder' : 'vae_decoder';
    const file = decoderKind === 'taesd' ? `${source}/taesd` : `${source}/vae`;
    components.push(
      planComponent(name, input, at(input), newOps(), file, (ops, dict) => {
        const model = loadVaeDecoder(ops, decoder, dict, weightOptionsOf(name));
        const dtype = vaeActivations(decoderKind);
        return callOn(ops, input, model, (x) => ops.runtime.withActivations(dtype, () => model.decode(x)));
      }),
    );
  }
  if (vae && options.img2img) {
    if (vae.kind !== 'vae_decoder') throw new PlanError(`img2img needs a VAE encoder, and ${source}/vae/config.json describes an AutoencoderTiny, whose encoder omni-diffusion does not run.`);
    const config = vae.config;
    const image = [1, config.inChannels, options.height, options.width];
    components.push(
      planComponent('vae_encoder', image, at(image), newOps(), `${source}/vae`, (ops, dict) => {
        const model = COMPONENTS.vae_encoder.load(ops, config, dict, weightOptionsOf('vae_encoder'));
        const dtype = vaeActivations('vae');
        return callOn(ops, image, model, (x) => ops.runtime.withActivations(dtype, () => model.encode(x)));
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
    images,
    decoder: decoderKind,
    dtype: options.dtype,
    activations,
    shaderF16,
    limits,
    img2img: options.img2img ?? false,
    components: components.map((c) => ({ ...c, peakBytes: weightsBytes + c.peakActivationBytes })),
    weightsBytes,
    weightBytesByDtype: weightBytesByDtype(components),
    peakActivationBytes,
    peakBytes: weightsBytes + peakActivationBytes,
    largestBindingBytes: Math.max(0, ...planned.map((c) => c.largestBindingBytes)),
    maxAllocationBytes: Math.max(0, ...planned.map((c) => c.maxAllocationBytes)),
    dispatchesPerUnet: unet.dispatchesPerCall[0] ?? 0,
    scoreMatrixBuffers: sum(components.map((c) => c.scoreMatrixBuffers)),
    withinLimits: planned.length === components.length,
  };
}

function weightBytesByDtype(components: readonly ComponentPlan[]): PlanReport['weightBytesByDtype'] {
  const weights = components.filter((c) => c.name !== 'vae_encoder').flatMap((c) => c.weights);
  const total = (dtype: 'f32' | 'f16', policy: QuantPolicy | null): number => weights.reduce((n, w) => n + storedWeightBytes(w.key, w.shape, dtype, policy), 0);
  return {
    f32: total('f32', null),
    f16: total('f16', null),
    int8: total('f16', defaultQuantPolicy(QUANTIZED_DTYPES.int8)),
    int4: total('f16', defaultQuantPolicy(QUANTIZED_DTYPES.int4)),
  };
}

/** The TAESD decoder of `configs.taesd`, for `decoder: 'taesd'`. */
function taesdDecoder(configs: PlanConfigs, source: string): VaeComponent {
  if (configs.taesd === undefined) throw new PlanError(`decoder "taesd" needs a TAESD config (PlanConfigs.taesd) beside ${source}'s.`);
  const plan = parseVaeComponent(configs.taesd, `${source}/taesd/config.json`);
  if (plan.kind !== 'taesd_decoder') throw new PlanError(`${source}/taesd/config.json describes an AutoencoderKL; decoder "taesd" needs an AutoencoderTiny.`);
  return plan;
}

function checkOptions(o: PlanModelOptions): void {
  for (const field of ['width', 'height', 'batch'] as const) {
    if (!Number.isInteger(o[field]) || o[field] < 1) throw new PlanError(`${field} = ${o[field]} must be a positive integer.`);
  }
  if (o.dtype !== 'f16' && o.dtype !== 'f32') throw new PlanError(`dtype = ${String(o.dtype)} must be "f16" or "f32".`);
  for (const field of ['unetCalls', 'images', 'latentScale'] as const) {
    const v = o[field];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new PlanError(`${field} = ${v} must be a positive integer.`);
  }
  if (o.activations !== undefined && o.activations !== 'f16' && o.activations !== 'f32') throw new PlanError(`activations = ${String(o.activations)} must be "f16" or "f32".`);
  if (o.decoder !== undefined && o.decoder !== 'vae' && o.decoder !== 'taesd') throw new PlanError(`decoder = ${String(o.decoder)} must be "vae" or "taesd".`);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
