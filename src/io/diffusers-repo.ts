import type { ByteStream } from './byte-source.js';
import { DiffusersRepoError, ModelFileNotFoundError, ModelSourceError } from './errors.js';
import { parseLenientJson, type JsonValue } from './json.js';
import { readSafetensors, type SafetensorsTensor } from './safetensors.js';
import { safeSnippet } from './snippet.js';
import { MAX_CONFIG_FILE_BYTES, type FetchFileOptions, type ModelSource } from './sources/model-source.js';

/** A JSON object, as configs are. */
export type JsonObject = { [key: string]: JsonValue };

/** `model_index.json`: the pipeline class and, per component, `[library, class]`. */
export interface ModelIndex {
  className: string;
  /** Components present (entries whose value is `[null, null]` are left out). */
  components: Record<string, { library: string; className: string }>;
  raw: JsonObject;
}

/** The tokenizer files of a CLIP-style tokenizer folder. */
export interface TokenizerFiles {
  vocab: Record<string, number>;
  /** `merges.txt` as is, `#version` line included. */
  merges: string;
  config: JsonObject;
  /** `special_tokens_map.json`, or null when the repo has none. */
  specialTokensMap: JsonObject | null;
}

export interface DiffusersRepoOptions {
  /** Weights variant, e.g. `fp16`: prefers `diffusion_pytorch_model.fp16.safetensors`, falling back to the plain file. */
  variant?: string | null;
}

/**
 * A model repository in the diffusers layout (`model_index.json`, one folder per component),
 * read through any `ModelSource`. Errors name the file that is missing or malformed.
 */
export class DiffusersRepo {
  private constructor(
    readonly source: ModelSource,
    readonly modelIndex: ModelIndex,
    readonly variant: string | null,
  ) {}

  /** Reads and checks `model_index.json`. */
  static async open(source: ModelSource, options: DiffusersRepoOptions = {}): Promise<DiffusersRepo> {
    const raw = await readJsonObject(source, 'model_index.json', { maxBytes: MAX_CONFIG_FILE_BYTES });
    const className = raw._class_name;
    if (typeof className !== 'string') {
      throw new DiffusersRepoError('model_index.json', `${source.id}/model_index.json has no "_class_name": this is not a diffusers pipeline repo.`);
    }
    const components: ModelIndex['components'] = {};
    for (const [name, value] of Object.entries(raw)) {
      if (name.startsWith('_') || !Array.isArray(value) || value.length !== 2) continue;
      const [library, cls] = value;
      if (typeof library === 'string' && typeof cls === 'string') components[name] = { library, className: cls };
    }
    return new DiffusersRepo(source, { className, components, raw }, options.variant ?? null);
  }

  hasComponent(name: string): boolean {
    return Object.hasOwn(this.modelIndex.components, name);
  }

  /** A component's `[library, class]`; `DiffusersRepoError` when `model_index.json` lacks it. */
  component(name: string): { library: string; className: string } {
    const entry = this.modelIndex.components[name];
    if (!entry) {
      const have = Object.keys(this.modelIndex.components).join(', ');
      throw new DiffusersRepoError(`${name}/`, `${this.source.id}/model_index.json has no component "${name}" (it has: ${have}).`);
    }
    return entry;
  }

  /** The path of a component's config: `scheduler/scheduler_config.json`, `tokenizer/tokenizer_config.json`, else `<name>/config.json`. */
  configPath(name: string): string {
    if (name === 'scheduler') return 'scheduler/scheduler_config.json';
    if (name === 'tokenizer') return 'tokenizer/tokenizer_config.json';
    return `${name}/config.json`;
  }

  /**
   * A component's config, read leniently (Python's `-Infinity` and friends are accepted), up to
   * `MAX_CONFIG_FILE_BYTES` unless `options.maxBytes` says otherwise.
   */
  readConfig(name: string, options: FetchFileOptions = {}): Promise<JsonObject> {
    this.component(name);
    return readJsonObject(this.source, this.configPath(name), { maxBytes: MAX_CONFIG_FILE_BYTES, ...options });
  }

  /**
   * The weight files to try for a component, best first: the variant (when set) before the
   * plain file, and the component library's usual name (`model` for transformers,
   * `diffusion_pytorch_model` for diffusers) before the other.
   */
  weightCandidates(name: string): string[] {
    const bases = this.component(name).library === 'transformers' ? ['model', 'diffusion_pytorch_model'] : ['diffusion_pytorch_model', 'model'];
    const variants = this.variant ? [`.${this.variant}`, ''] : [''];
    return variants.flatMap((v) => bases.map((b) => `${name}/${b}${v}.safetensors`));
  }

  /**
   * Opens a component's weights (the first candidate that exists), as a stream. Offline (the
   * server unreachable or failing with a 5xx), a candidate that cannot be asked about is passed
   * over for a later one the cache holds: a variant file a repo lacks (an fp16 UNet beside f32
   * text encoders) was never cached, and the plain file the last load used was.
   */
  async openWeights(name: string, options: FetchFileOptions = {}): Promise<{ path: string; file: ByteStream }> {
    const candidates = this.weightCandidates(name);
    let unreachable: ModelSourceError | null = null;
    for (const path of candidates) {
      try {
        return { path, file: await this.source.fetchFile(path, options) };
      } catch (err) {
        if (err instanceof ModelFileNotFoundError) continue;
        const offline = err instanceof ModelSourceError && (err.status === null || err.status >= 500) && !options.signal?.aborted;
        if (!offline) throw err;
        unreachable ??= err;
      }
    }
    if (unreachable) throw unreachable;
    throw new DiffusersRepoError(
      `${name}/`,
      `${this.source.id}: component "${name}" has no safetensors weights (tried ${candidates.join(', ')}). ` +
        'Only .safetensors checkpoints are supported; convert .bin files with diffusers first.',
    );
  }

  /** Reads a component's weights whole. Fine for tests and small models; large ones should stream via `openWeights`. */
  async loadWeights(name: string, options: FetchFileOptions = {}): Promise<{ path: string; tensors: Map<string, SafetensorsTensor> }> {
    const { path, file } = await this.openWeights(name, options);
    const tensors = await readSafetensors(file, { file: `${this.source.id}/${path}`, ...(options.signal ? { signal: options.signal } : {}) });
    return { path, tensors };
  }

  /** Reads the tokenizer folder: `vocab.json`, `merges.txt`, `tokenizer_config.json`, and `special_tokens_map.json` if present. */
  async readTokenizerFiles(name = 'tokenizer', options: FetchFileOptions = {}): Promise<TokenizerFiles> {
    const configOptions = { maxBytes: MAX_CONFIG_FILE_BYTES, ...options };
    const [vocab, merges, config, specialTokensMap] = await Promise.all([
      readJsonObject(this.source, `${name}/vocab.json`, options),
      this.readRequired(`${name}/merges.txt`, options),
      readJsonObject(this.source, `${name}/tokenizer_config.json`, configOptions),
      readJsonObject(this.source, `${name}/special_tokens_map.json`, configOptions).catch((err: unknown) => {
        if (err instanceof DiffusersRepoError && err.path.endsWith('special_tokens_map.json')) return null;
        throw err;
      }),
    ]);
    for (const [token, id] of Object.entries(vocab)) {
      if (typeof id !== 'number') {
        throw new DiffusersRepoError(`${name}/vocab.json`, `${this.source.id}/${name}/vocab.json: the id of "${safeSnippet(token)}" is not a number.`);
      }
    }
    return { vocab: vocab as Record<string, number>, merges, config, specialTokensMap };
  }

  private async readRequired(path: string, options: FetchFileOptions): Promise<string> {
    try {
      return await this.source.readText(path, options);
    } catch (err) {
      throw missingFile(this.source, path, err);
    }
  }
}

/**
 * Reads `path` of `source` as a JSON object, leniently (see `parseLenientJson`): a missing file
 * is a `DiffusersRepoError` naming it, as is a file that parses to anything but an object.
 */
export async function readJsonObject(source: ModelSource, path: string, options: FetchFileOptions = {}): Promise<JsonObject> {
  let text: string;
  try {
    text = await source.readText(path, options);
  } catch (err) {
    throw missingFile(source, path, err);
  }
  const value = parseLenientJson(text, `${source.id}/${path}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DiffusersRepoError(path, `${source.id}/${path} is not a JSON object.`);
  }
  return value;
}

function missingFile(source: ModelSource, path: string, err: unknown): unknown {
  if (!(err instanceof ModelFileNotFoundError)) return err;
  return new DiffusersRepoError(path, `${source.id} is missing "${path}", which a diffusers repo needs here.`, { cause: err });
}
