/** The diffusers/transformers model components, written over `TensorOps`. */
export { ModelConfigError, ModelInputError } from './errors.js';
export type { WeightOptions } from './weights.js';
export { parseUNetConfig, type UNetConfig, type DownBlockType, type UpBlockType } from './unet/config.js';
export { UNet2DConditionModel } from './unet/unet-2d-condition.js';
export { checkTokenizerFitsTextEncoder, parseCLIPTextConfig, type CLIPTextConfig, type CLIPActivation } from './clip/config.js';
export { CLIPTextModel, type CLIPTextOutput } from './clip/clip-text-model.js';
export { parseAutoencoderKLConfig, type AutoencoderKLConfig } from './vae/config.js';
export { AutoencoderKLDecoder } from './vae/autoencoder-kl-decoder.js';
export { parseAutoencoderTinyConfig, type AutoencoderTinyConfig } from './taesd/config.js';
export { AutoencoderTinyDecoder } from './taesd/autoencoder-tiny-decoder.js';
