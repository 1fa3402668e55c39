import type { ProgressCallback } from '../io/byte-source.js';
import type { ModelSource } from '../io/sources/model-source.js';
import type { QuantPolicy } from '../quant/policy.js';
import type { TensorDType } from '../webgpu/kernels/ops.js';
import type { EmbeddingFileSpec } from './textual-inversion.js';
import type { WeightFile } from './weight-files.js';

/** How `StableDiffusionPipeline.load` loads a model: storage, side models, progress, LoRA names and embeddings. */
export interface PipelineLoadOptions {
  dtype: TensorDType;
  /** A TAESD repo (diffusers `AutoencoderTiny`), for `decoder: 'taesd'`. */
  taesd?: ModelSource | null;
  /**
   * A VAE used instead of the model's `vae/` (diffusers' `vae=`): an `AutoencoderKL` (or
   * `AutoencoderTiny`) repo with `config.json` and weights at its root. The model's `vae/` is then
   * never read; its `force_upcast` decides the decode precision.
   */
  vae?: ModelSource | null;
  variant?: string | null;
  signal?: AbortSignal;
  /** Bytes of each weight file as they arrive. */
  onProgress?: ProgressCallback;
  /** The weight files the load will read (model-relative, as `onProgress` names them), once the configs are read and before any weight is. */
  onWeightFiles?: (files: WeightFile[]) => void;
  /**
   * Weight bytes written to the device, as each piece is, and the `total` the load will write
   * (planned from the configs; a checkpoint's float tensors no model uses would come on top).
   */
  onUpload?: (bytes: number, total: number) => void;
  /**
   * Weights stored quantized as they stream (`dtype: 'int8' | 'int4'`); the rest are `dtype`. A
   * pre-quantized repo (`omni-diffusion quantize`) ignores both: it loads as it is stored.
   */
  quantize?: QuantPolicy | null;
  /**
   * How the text encoder and UNet (and a VAE without `force_upcast`) store activations:
   * `f16` halves their memory and needs shader-f16. Default `f32`.
   */
  activations?: 'f32' | 'f16';
  /** A1111 `<lora:name:w>` tags resolve through this map (name → LoRA file); see `takeLoraTags`. */
  loraNames?: Readonly<Record<string, string>>;
  /**
   * Textual-inversion embeddings loaded with the model (diffusers' `load_textual_inversion`):
   * their tokens are added to the tokenizer and their vectors serve as the text encoder's rows
   * for those ids (SDXL files: both tokenizers, `clip_l` for `text_encoder`, `clip_g` for
   * `text_encoder_2`); prompts are converted (`maybe_convert_prompt`) before tokenization.
   */
  embeddings?: readonly EmbeddingFileSpec[];
}
