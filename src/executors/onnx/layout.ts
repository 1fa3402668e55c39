import { readAllBytes } from '../../io/byte-source.js';
import type { JsonObject } from '../../io/diffusers-repo.js';
import { ModelFileNotFoundError } from '../../io/errors.js';
import { parseLenientJson } from '../../io/json.js';
import type { FetchFileOptions, ModelSource } from '../../io/sources/model-source.js';
import type { CLIPTokenizer } from '../../models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../../models/tokenizer/load.js';
import { describeValue } from '../../api/errors.js';
import { CONFIG_LIMITS } from '../../models/config-reader.js';
import { COMPONENTS } from '../../models/registry.js';
import { DEFAULT_SCALING_FACTOR } from '../../models/vae/config.js';
import { OnnxModelFileError } from './errors.js';

/** The three networks of an ONNX Stable Diffusion export, by their path in the repo. */
export const ONNX_NETWORK_FILES = {
  textEncoder: 'text_encoder/model.onnx',
  unet: 'unet/model.onnx',
  vaeDecoder: 'vae_decoder/model.onnx',
} as const;

/** Which of the three networks. */
export type OnnxNetwork = keyof typeof ONNX_NETWORK_FILES;

/**
 * `block_out_channels` of SD 1.x/2.x VAEs, taken when the export carries no
 * `vae_decoder/config.json` (diffusers' ONNX pipeline assumes their factor 8 throughout).
 */
const SD_VAE_BLOCK_OUT_CHANNELS = [128, 256, 512, 512];

/** Largest single-file ONNX network read: one protobuf message holds at most 2 GiB. */
const MAX_ONNX_FILE_BYTES = 2 ** 31;

/** Everything read from an ONNX Stable Diffusion repo, before any session is created. */
export interface OnnxStableDiffusionFiles {
  /** `model_index.json`, or null when the export has none (it is optional). */
  modelIndex: JsonObject | null;
  /** The serialized ONNX models. */
  networks: Record<OnnxNetwork, Uint8Array>;
  tokenizer: CLIPTokenizer;
  /** `scheduler/scheduler_config.json`, read leniently. */
  schedulerConfig: JsonObject;
  /** `scaling_factor` of `vae_decoder/config.json`, else the `AutoencoderKL` default (SD's 0.18215). */
  vaeScalingFactor: number;
  /** Image pixels per latent pixel: the VAE's factor (`COMPONENTS.vae_decoder.scaleFactor`) from `vae_decoder/config.json`'s `block_out_channels`, else SD's 8. */
  vaeScaleFactor: number;
  /** `sample_size` of `unet/config.json`, or null when the export has no UNet config. */
  sampleSize: number | null;
}

/**
 * Reads a model in the layout of published ONNX Stable Diffusion exports (diffusers'
 * `OnnxStableDiffusionPipeline`, Optimum): `text_encoder/model.onnx`, `unet/model.onnx`,
 * `vae_decoder/model.onnx`, `tokenizer/*`, `scheduler/scheduler_config.json`; optionally
 * `model_index.json`, `unet/config.json` and `vae_decoder/config.json`.
 *
 * A missing required file raises `OnnxModelFileError` naming it (`TokenizerFileError` for the
 * tokenizer's files). Models whose weights live in external data files are not supported.
 */
export async function readOnnxStableDiffusion(source: ModelSource, options: FetchFileOptions = {}): Promise<OnnxStableDiffusionFiles> {
  const modelIndex = await readOptionalJson(source, 'model_index.json', options);
  const required = async <T>(path: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof ModelFileNotFoundError)) throw err;
      throw new OnnxModelFileError(path, source.id, `${source.id} has no "${path}", which an ONNX Stable Diffusion export needs.${layoutHint(modelIndex)}`, { cause: err });
    }
  };
  const network = (path: string): Promise<Uint8Array> =>
    required(path, async () => readAllBytes((await source.fetchFile(path, options)).stream, options.signal, { maxBytes: MAX_ONNX_FILE_BYTES, file: `${source.id}/${path}` }));
  const schedulerPath = 'scheduler/scheduler_config.json';
  const [textEncoder, unet, vaeDecoder, schedulerText, unetConfig, vaeConfig, tokenizer] = await Promise.all([
    network(ONNX_NETWORK_FILES.textEncoder),
    network(ONNX_NETWORK_FILES.unet),
    network(ONNX_NETWORK_FILES.vaeDecoder),
    required(schedulerPath, () => source.readText(schedulerPath, options)),
    readOptionalJson(source, 'unet/config.json', options),
    readOptionalJson(source, 'vae_decoder/config.json', options),
    loadCLIPTokenizer(source, 'tokenizer', options),
  ]);
  return {
    modelIndex,
    networks: { textEncoder, unet, vaeDecoder },
    tokenizer,
    schedulerConfig: jsonObject(parseLenientJson(schedulerText, `${source.id}/${schedulerPath}`), source, schedulerPath),
    vaeScalingFactor: positiveNumber(vaeConfig, 'scaling_factor', source, 'vae_decoder/config.json') ?? DEFAULT_SCALING_FACTOR,
    vaeScaleFactor: COMPONENTS.vae_decoder.scaleFactor({ blockOutChannels: vaeBlockOutChannels(vaeConfig, source) }),
    sampleSize: positiveNumber(unetConfig, 'sample_size', source, 'unet/config.json', CONFIG_LIMITS.maxSampleSize),
  };
}

async function readOptionalJson(source: ModelSource, path: string, options: FetchFileOptions): Promise<JsonObject | null> {
  let text: string;
  try {
    text = await source.readText(path, options);
  } catch (err) {
    if (err instanceof ModelFileNotFoundError) return null;
    throw err;
  }
  return jsonObject(parseLenientJson(text, `${source.id}/${path}`), source, path);
}

function jsonObject(value: unknown, source: ModelSource, path: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OnnxModelFileError(path, source.id, `${source.id}/${path} is not a JSON object.`);
  }
  return value as JsonObject;
}

function positiveNumber(config: JsonObject | null, key: string, source: ModelSource, path: string, max = Number.MAX_VALUE): number | null {
  if (config === null || config[key] === undefined || config[key] === null) return null;
  const value = config[key];
  if (typeof value !== 'number' || !(value > 0) || value > max) {
    throw new OnnxModelFileError(path, source.id, `${source.id}/${path}: "${key}" is ${describeValue(value)}; expected a positive number${max < Number.MAX_VALUE ? ` of at most ${max}` : ''}.`);
  }
  return value;
}

/**
 * The VAE's `block_out_channels`, the one field its scale factor is computed from. Read alone,
 * not through the registry's whole-config parser: onnxruntime runs the network, so the fields
 * that only our own VAE needs (block types, group counts, ...) may be absent or anything.
 */
function vaeBlockOutChannels(config: JsonObject | null, source: ModelSource): number[] {
  const blocks = config?.block_out_channels;
  if (blocks === undefined || blocks === null) return SD_VAE_BLOCK_OUT_CHANNELS;
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > CONFIG_LIMITS.maxListLength || !blocks.every((c) => Number.isInteger(c) && (c as number) > 0)) {
    throw new OnnxModelFileError(
      'vae_decoder/config.json',
      source.id,
      `${source.id}/vae_decoder/config.json: "block_out_channels" is ${describeValue(blocks)}; expected a non-empty list of at most ${CONFIG_LIMITS.maxListLength} positive integers.`,
    );
  }
  return blocks as number[];
}

/** Points at the likely mistake when `model_index.json` describes a PyTorch (safetensors) repo. */
function layoutHint(modelIndex: JsonObject | null): string {
  const cls = modelIndex?._class_name;
  if (typeof cls !== 'string' || cls.startsWith('Onnx')) return '';
  return ` Its model_index.json names ${cls}, not an ONNX pipeline: use the webgpu executor for this repo, or an ONNX export of it.`;
}
