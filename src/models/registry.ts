import type { StateDict } from '../io/state-dict.js';
import type { TensorLike, TensorOps } from '../webgpu/kernels/ops.js';
import { CLIPTextModel } from './clip/clip-text-model.js';
import { parseCLIPTextConfig, type CLIPTextConfig } from './clip/config.js';
import { AutoencoderTinyDecoder } from './taesd/autoencoder-tiny-decoder.js';
import { parseAutoencoderTinyConfig, type AutoencoderTinyConfig } from './taesd/config.js';
import { parseUNetConfig, type UNetConfig } from './unet/config.js';
import { UNet2DConditionModel, type UNetLoadOptions } from './unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from './vae/autoencoder-kl-decoder.js';
import { AutoencoderKLEncoder } from './vae/autoencoder-kl-encoder.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from './vae/config.js';

/**
 * The component models this library builds from a diffusers checkpoint. `vae_decoder` and
 * `vae_encoder` are the two halves of one `AutoencoderKL` checkpoint, `taesd_decoder` the decoder
 * half of an `AutoencoderTiny` one (whose encoder is not run).
 */
export type ComponentKind = 'unet' | 'text_encoder' | 'vae_decoder' | 'vae_encoder' | 'taesd_decoder';

/** Every component kind, in pipeline order. */
export const COMPONENT_KINDS: readonly ComponentKind[] = ['text_encoder', 'unet', 'vae_decoder', 'taesd_decoder', 'vae_encoder'];

/** The parsed config of each kind. */
export interface ComponentConfigs {
  unet: UNetConfig;
  text_encoder: CLIPTextConfig;
  vae_decoder: AutoencoderKLConfig;
  vae_encoder: AutoencoderKLConfig;
  taesd_decoder: AutoencoderTinyConfig;
}

/**
 * The config fields each kind's `scaleFactor` reads. A runner that does not build the model
 * (the onnx executor, whose networks onnxruntime runs) reads only these from an export's
 * optional, often partial config, and gets the factor from the same formula.
 */
export interface ComponentScaleFields {
  unet: Pick<UNetConfig, 'blockOutChannels'>;
  text_encoder: object;
  vae_decoder: Pick<AutoencoderKLConfig, 'blockOutChannels'>;
  vae_encoder: Pick<AutoencoderKLConfig, 'blockOutChannels'>;
  taesd_decoder: Pick<AutoencoderTinyConfig, 'decoderBlockOutChannels'>;
}

/** The model each kind builds, on tensors `T`. */
export interface ComponentModels<T extends TensorLike> {
  unet: UNet2DConditionModel<T>;
  text_encoder: CLIPTextModel<T>;
  vae_decoder: AutoencoderKLDecoder<T>;
  vae_encoder: AutoencoderKLEncoder<T>;
  taesd_decoder: AutoencoderTinyDecoder<T>;
}

/** What any component's loader takes: the weights' storage dtype, and the UNet's binding bound. */
export type ComponentLoadOptions = UNetLoadOptions;

/** Everything the pipeline, `plan` and `verify` need to know to build one kind of component. */
export interface ComponentSpec<K extends ComponentKind> {
  readonly kind: K;
  /** The diffusers (or transformers) class whose checkpoints this kind reads. */
  readonly className: string;
  /** Validates a `config.json`; faults are `ModelConfigError`s naming `file` and the field. */
  parseConfig(json: unknown, file: string): ComponentConfigs[K];
  /** Builds the model, taking each weight it needs from `dict` with the shape its config implies. */
  load<T extends TensorLike>(ops: TensorOps<T>, config: ComponentConfigs[K], dict: StateDict, options?: ComponentLoadOptions): ComponentModels<T>[K];
  /**
   * Pixels per latent pixel: the image-to-latent factor of a VAE or TAESD, the total
   * downsampling of a UNet (image sides must be multiples of it), 1 for a text encoder.
   */
  scaleFactor(config: ComponentScaleFields[K]): number;
  /** Keys the checkpoint holds that this model never uses: streamed past, never uploaded. Null: all are used. */
  readonly unusedKey: ((key: string) => boolean) | null;
}

const isKLEncoderKey = (key: string): boolean => key.startsWith('encoder.') || key.startsWith('quant_conv.');
const halvings = (widths: readonly number[]): number => 2 ** (widths.length - 1);

/** The one place each component kind is described; see {@link ComponentSpec}. */
export const COMPONENTS: { readonly [K in ComponentKind]: ComponentSpec<K> } = {
  unet: {
    kind: 'unet',
    className: 'UNet2DConditionModel',
    parseConfig: parseUNetConfig,
    load: (ops, config, dict, options) => UNet2DConditionModel.load(ops, config, dict, options),
    scaleFactor: (c) => halvings(c.blockOutChannels),
    unusedKey: null,
  },
  text_encoder: {
    kind: 'text_encoder',
    className: 'CLIPTextModel',
    parseConfig: parseCLIPTextConfig,
    load: (ops, config, dict, options) => CLIPTextModel.load(ops, config, dict, options),
    scaleFactor: () => 1,
    unusedKey: null,
  },
  vae_decoder: {
    kind: 'vae_decoder',
    className: 'AutoencoderKL',
    parseConfig: parseAutoencoderKLConfig,
    load: (ops, config, dict, options) => AutoencoderKLDecoder.load(ops, config, dict, options),
    scaleFactor: (c) => halvings(c.blockOutChannels),
    unusedKey: isKLEncoderKey,
  },
  vae_encoder: {
    kind: 'vae_encoder',
    className: 'AutoencoderKL',
    parseConfig: parseAutoencoderKLConfig,
    load: (ops, config, dict, options) => AutoencoderKLEncoder.load(ops, config, dict, options),
    scaleFactor: (c) => halvings(c.blockOutChannels),
    unusedKey: (key) => !isKLEncoderKey(key),
  },
  taesd_decoder: {
    kind: 'taesd_decoder',
    className: 'AutoencoderTiny',
    parseConfig: parseAutoencoderTinyConfig,
    load: (ops, config, dict, options) => AutoencoderTinyDecoder.load(ops, config, dict, options),
    scaleFactor: (c) => halvings(c.decoderBlockOutChannels),
    unusedKey: (key) => key.startsWith('encoder.'),
  },
};

/** Builds a `kind` model from its parsed config and `dict` (a typed shortcut for `COMPONENTS[kind].load`). */
export function loadComponent<K extends ComponentKind, T extends TensorLike>(
  kind: K,
  ops: TensorOps<T>,
  config: ComponentConfigs[K],
  dict: StateDict,
  options: ComponentLoadOptions = {},
): ComponentModels<T>[K] {
  // The mapped type cannot be indexed generically; each entry's own signature is checked above.
  return (COMPONENTS[kind] as ComponentSpec<K>).load(ops, config, dict, options);
}

/**
 * The decoder a model's `vae/config.json` describes: an `AutoencoderKL` (SD's VAE, with an
 * encoder for img2img) or, by its `_class_name`, an `AutoencoderTiny`, which diffusers accepts in
 * a Stable Diffusion pipeline's `vae` slot (`pipe.vae = AutoencoderTiny.from_pretrained(...)`)
 * and decodes the same way: `decode(latents / scaling_factor)`. Its encoder is not run here.
 */
export type VaeComponent =
  | { readonly kind: 'vae_decoder'; readonly config: AutoencoderKLConfig }
  | { readonly kind: 'taesd_decoder'; readonly config: AutoencoderTinyConfig };

/** Reads a `vae/config.json` as {@link VaeComponent}; config faults are `ModelConfigError`s naming `file`. */
export function parseVaeComponent(json: unknown, file: string): VaeComponent {
  const className = json !== null && typeof json === 'object' ? (json as Record<string, unknown>)['_class_name'] : undefined;
  if (className === COMPONENTS.taesd_decoder.className) return { kind: 'taesd_decoder', config: COMPONENTS.taesd_decoder.parseConfig(json, file) };
  return { kind: 'vae_decoder', config: COMPONENTS.vae_decoder.parseConfig(json, file) };
}

/** A VAE slot's image-to-latent factor. */
export function vaeScaleFactor(vae: VaeComponent): number {
  return vae.kind === 'taesd_decoder' ? COMPONENTS.taesd_decoder.scaleFactor(vae.config) : COMPONENTS.vae_decoder.scaleFactor(vae.config);
}

/**
 * How the pipeline maps UNet latents into a VAE slot's decoder: `decode(latents / scalingFactor
 * + shiftFactor)`, in float32 when `forceUpcast` (an `AutoencoderTiny` has no shift and, as in
 * diffusers' config, no forced upcast).
 */
export function vaeLatentScaling(vae: VaeComponent): { scalingFactor: number; shiftFactor: number; forceUpcast: boolean } {
  if (vae.kind === 'taesd_decoder') return { scalingFactor: vae.config.scalingFactor, shiftFactor: 0, forceUpcast: false };
  return { scalingFactor: vae.config.scalingFactor, shiftFactor: vae.config.shiftFactor, forceUpcast: vae.config.forceUpcast };
}

/** Builds a VAE slot's decoder, whichever class it is. */
export function loadVaeDecoder<T extends TensorLike>(
  ops: TensorOps<T>,
  vae: VaeComponent,
  dict: StateDict,
  options: ComponentLoadOptions = {},
): AutoencoderKLDecoder<T> | AutoencoderTinyDecoder<T> {
  return vae.kind === 'taesd_decoder' ? COMPONENTS.taesd_decoder.load(ops, vae.config, dict, options) : COMPONENTS.vae_decoder.load(ops, vae.config, dict, options);
}
