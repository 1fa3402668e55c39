import { ModelFileNotFoundError } from '../errors.js';
import { readJsonObject, type JsonObject } from '../diffusers-repo.js';
import { BaseModelSource, MAX_CONFIG_FILE_BYTES, type FileStat, type ModelSource, type OpenedFile } from '../sources/model-source.js';
import { ModelConfigError } from '../../models/errors.js';
import { DEFAULT_CONFIG_REPOS, inferArchitecture, SD2_EPSILON_CONFIG_REPO, type CheckpointArchitecture } from './architecture.js';
import { readCheckpointHeader } from './checkpoint-header.js';
import { mapCheckpoint, type CheckpointComponent, type LayoutConfigs } from './checkpoint-layout.js';
import { componentFile, type ComponentFile } from './component-file.js';
import { refusePickleName } from './pickle-guard.js';
import { checkpointPredictionType, withPredictionType, type PredictionType } from './prediction-type.js';

/** A checkpoint file: the source that holds it (a folder, a URL base, a Hub repo, picked `File`s) and its path there. */
export interface CheckpointLocation {
  source: ModelSource;
  path: string;
}

/** Options of `SingleFileSource.open`. */
export interface SingleFileOptions {
  /**
   * The diffusers repo whose `model_index.json`, component configs, tokenizer and scheduler go with
   * the checkpoint's weights (the checkpoint holds no config). Left out: `openRepo` of the published
   * repo of the inferred architecture (`DEFAULT_CONFIG_REPOS`).
   */
  configFrom?: ModelSource | null;
  /** Opens a repo by Hub id, for the default `configFrom`; required when `configFrom` is left out. */
  openRepo?: (nameOrPath: string) => Promise<ModelSource>;
  signal?: AbortSignal;
}

/** Where each component's weights appear in the diffusers layout this source presents. */
const WEIGHT_PATHS: Record<CheckpointComponent, string> = {
  text_encoder: 'text_encoder/model.safetensors',
  text_encoder_2: 'text_encoder_2/model.safetensors',
  unet: 'unet/diffusion_pytorch_model.safetensors',
  vae: 'vae/diffusion_pytorch_model.safetensors',
};

/** Weight files of any format: only the checkpoint's own are served, never the config repo's. */
const WEIGHT_FILE = /\.(safetensors|bin|ckpt|pt|pth|onnx|onnx_data|gguf|msgpack|h5)$/i;

/**
 * A single-file checkpoint (original LDM/CompVis or SGM layout, `.safetensors`) seen as a diffusers
 * repo: `model_index.json`, the configs, tokenizer(s) and scheduler come from `configFrom`; each of
 * `unet/`, `vae/`, `text_encoder/` (and SDXL's `text_encoder_2/`) has one weights file, made on
 * the fly from the checkpoint (see `componentFile`): its tensors renamed to diffusers' keys (VAE
 * attention reshaped to [C, C], SDXL's text projection transposed), streamed from the checkpoint
 * as they are read. Anything that loads a diffusers repo (`StableDiffusionPipeline`,
 * `DiffusersRepo`, the `convert` command) loads it. Only the header is read when it opens: pickle
 * files, unsupported architectures and keys that map to nothing fail there, before any weight is.
 *
 * SD 1.x, SD 2.x and SDXL (see `inferArchitecture`). The weights do not say whether a model
 * predicts noise or v (SD 2.x's 768 models, v-prediction fine-tunes): a `configFrom` the user
 * names decides by its scheduler config; without one, the file's `modelspec.prediction_type`
 * metadata does (the scheduler config is served with it), else the default repo's scheduler config.
 */
export class SingleFileSource extends BaseModelSource {
  readonly id: string;

  private constructor(
    readonly checkpoint: CheckpointLocation,
    readonly configFrom: ModelSource,
    readonly architecture: CheckpointArchitecture,
    private readonly files: ReadonlyMap<string, ComponentFile>,
    /** What the checkpoint's metadata says it predicts, when that decides (no `configFrom` given); else null. */
    readonly predictionType: PredictionType | null,
  ) {
    super();
    this.id = `${checkpoint.source.id.replace(/\/+$/, '')}/${checkpoint.path}`;
  }

  /**
   * Reads the checkpoint's header and `configFrom`'s UNet, VAE and text encoder configs (for the
   * block numbering), and maps every key. Fails with `CheckpointFormatError` (pickle, unsupported or
   * unknown architecture), `SafetensorsError` (malformed header), `StateDictMismatchError` (keys
   * that map to nothing, a component with no weights) or `ModelConfigError`.
   */
  static async open(checkpoint: CheckpointLocation, options: SingleFileOptions = {}): Promise<SingleFileSource> {
    const name = `${checkpoint.source.id.replace(/\/+$/, '')}/${checkpoint.path}`;
    refusePickleName(name);
    const header = await readCheckpointHeader(checkpoint.source, checkpoint.path, name, options.signal);
    const architecture = inferArchitecture(name, header.entries);
    // The user's `configFrom` decides what the model predicts; without it, the file's metadata.
    const predictionType = options.configFrom ? null : checkpointPredictionType(name, header.metadata);
    const configFrom = options.configFrom ?? (await openDefault(name, architecture, predictionType, options));
    const fetch = { maxBytes: MAX_CONFIG_FILE_BYTES, ...(options.signal ? { signal: options.signal } : {}) };
    const sdxl = architecture === 'sdxl';
    const [unet, vae, text, text2] = await Promise.all(
      ['unet', 'vae', 'text_encoder', ...(sdxl ? ['text_encoder_2'] : [])].map((c) => readJsonObject(configFrom, `${c}/config.json`, fetch)),
    );
    const configs: LayoutConfigs = {
      unetLayersPerBlock: positiveInteger(unet!, 'layers_per_block', `${configFrom.id}/unet/config.json`),
      vaeUpBlocks: listLength(vae!, 'up_block_types', 'block_out_channels', `${configFrom.id}/vae/config.json`),
      textEncoderLayers: positiveInteger(text!, 'num_hidden_layers', `${configFrom.id}/text_encoder/config.json`),
      textEncoder2Layers: text2 ? positiveInteger(text2, 'num_hidden_layers', `${configFrom.id}/text_encoder_2/config.json`) : null,
      unetTextTimeEmbedding: unet!.addition_embed_type === 'text_time',
    };
    const components = mapCheckpoint(name, header.entries, architecture, configs);
    const files = new Map([...components].map(([component, tensors]) => [WEIGHT_PATHS[component], componentFile(tensors, header.dataStart)]));
    return new SingleFileSource(checkpoint, configFrom, architecture, files, predictionType);
  }

  /** The model-relative paths of the weight files made from the checkpoint. */
  weightPaths(): string[] {
    return [...this.files.keys()];
  }

  protected async open(path: string, signal: AbortSignal | undefined): Promise<OpenedFile> {
    const file = this.files.get(path);
    if (file) {
      const { source, path: inner } = this.checkpoint;
      return file.open(() => source.fetchFile(inner, signal ? { signal } : {}), this.id);
    }
    if (WEIGHT_FILE.test(path)) throw new ModelFileNotFoundError(path, this.id, `The checkpoint ${this.id} has no "${path}" (its weights are ${this.weightPaths().join(', ')}).`);
    if (path === SCHEDULER_CONFIG && this.predictionType) {
      const text = withPredictionType(await this.configFrom.readText(path, { maxBytes: MAX_CONFIG_FILE_BYTES, ...(signal ? { signal } : {}) }), this.predictionType);
      const bytes = new TextEncoder().encode(text);
      return { stream: new Blob([bytes]).stream(), size: bytes.byteLength };
    }
    return this.configFrom.fetchFile(path, signal ? { signal } : {});
  }

  protected override async statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    const file = this.files.get(path);
    if (file) return { size: file.size };
    if (!WEIGHT_FILE.test(path) && path !== SCHEDULER_CONFIG && this.configFrom.stat) return this.configFrom.stat(path, signal ? { signal } : {});
    return super.statPath(path, signal);
  }
}

/** Served with the metadata's `prediction_type` when that decides. */
const SCHEDULER_CONFIG = 'scheduler/scheduler_config.json';

/**
 * The published repo of `architecture`; for an SD 2.x file whose metadata says `epsilon`, the 512
 * base model's (`SD2_EPSILON_CONFIG_REPO`) rather than the 768 v one.
 */
async function openDefault(name: string, architecture: CheckpointArchitecture, predictionType: PredictionType | null, options: SingleFileOptions): Promise<ModelSource> {
  const repo = architecture === 'sd2' && predictionType === 'epsilon' ? SD2_EPSILON_CONFIG_REPO : DEFAULT_CONFIG_REPOS[architecture];
  if (!options.openRepo) throw new ModelConfigError(name, 'configFrom', undefined, `a diffusers repo with the configs of this ${architecture} checkpoint, e.g. ${repo}`);
  return options.openRepo(repo);
}

function positiveInteger(json: JsonObject, field: string, file: string): number {
  const value = json[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ModelConfigError(file, field, value, 'a positive integer');
  return value;
}

function listLength(json: JsonObject, field: string, fallback: string, file: string): number {
  const value = json[field] ?? json[fallback];
  if (!Array.isArray(value) || value.length === 0) throw new ModelConfigError(file, field, value, 'a non-empty list');
  return value.length;
}
