import { ConfigValidationError } from './errors.js';

/**
 * A textual-inversion embedding to load with the model (`DiffusionConfigOptions.embeddings`):
 * a safetensors file in the AUTOMATIC1111 / kohya (`emb_params`) or diffusers
 * (`learned_embeds.safetensors`) layout, or for SDXL models an SDXL file (`clip_l`, `clip_g`).
 * Pickles (`.pt`, `.bin`) are refused.
 */
export interface EmbeddingConfig {
  /** The file: a path (Node), an `http(s)` URL, a Hub file `owner/name/file.safetensors`, or a `File`. */
  source: string | File;
  /**
   * The token prompts use for it, e.g. `<my-style>`. Left out: a diffusers file's own token (its
   * key), or an A1111 or SDXL file's name without extension.
   */
  token?: string;
}

/** Checks `DiffusionConfigOptions.embeddings`: a list of `{ source, token? }`; `ConfigValidationError` naming the entry and field otherwise. */
export function readEmbeddingsConfig(value: unknown): EmbeddingConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigValidationError('embeddings', value, 'a list of { source, token? }');
  return value.map((entry: unknown, i): EmbeddingConfig => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigValidationError(`embeddings[${i}]`, entry, 'an object { source, token? }');
    const { source, token } = entry as { source?: unknown; token?: unknown };
    const isFile = typeof File !== 'undefined' && source instanceof File;
    if (!isFile && (typeof source !== 'string' || source === '')) {
      throw new ConfigValidationError(`embeddings[${i}].source`, source, 'a path, URL or Hub file of a .safetensors embedding, or a File');
    }
    if (token !== undefined && (typeof token !== 'string' || token === '')) throw new ConfigValidationError(`embeddings[${i}].token`, token, 'a non-empty string, or absent');
    return { source: source as string | File, ...(token !== undefined ? { token: token as string } : {}) };
  });
}
