import { readAllBytes, withProgress, type ByteStream, type ProgressCallback } from '../byte-source.js';
import { ModelSourceError } from '../errors.js';

/** Options of `ModelSource.fetchFile` and `readText`. */
export interface FetchFileOptions {
  /** Byte progress of this file: `loaded` and the size when the source knows it. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/**
 * Where a model's files come from: the Hugging Face Hub, any base URL, a local folder, or
 * browser `File`s. Paths are relative to the model root, `/`-separated (`unet/config.json`).
 */
export interface ModelSource {
  /** Stable identity of the model and revision, used as the cache key prefix. */
  readonly id: string;
  /** Opens a file as a byte stream. Throws `ModelFileNotFoundError` when the model has no such file. */
  fetchFile(path: string, options?: FetchFileOptions): Promise<ByteStream>;
  /** Reads a whole file as UTF-8 text. */
  readText(path: string, options?: FetchFileOptions): Promise<string>;
}

/** Whether `value` is a `ModelSource` (any object with a string `id`, `fetchFile` and `readText`). */
export function isModelSource(value: unknown): value is ModelSource {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Record<keyof ModelSource, unknown>>;
  return typeof v.id === 'string' && typeof v.fetchFile === 'function' && typeof v.readText === 'function';
}

/**
 * Shared behaviour of the sources: path checking, progress reporting and `readText`.
 * Subclasses only open a checked path.
 */
export abstract class BaseModelSource implements ModelSource {
  abstract readonly id: string;

  /** Opens a path that `normalizeModelPath` has already checked. */
  protected abstract open(path: string, signal: AbortSignal | undefined): Promise<ByteStream>;

  async fetchFile(path: string, options: FetchFileOptions = {}): Promise<ByteStream> {
    const checked = normalizeModelPath(path, this.id);
    const file = await this.open(checked, options.signal);
    if (!options.onProgress) return file;
    return { stream: withProgress(file.stream, checked, file.size, options.onProgress), size: file.size };
  }

  async readText(path: string, options: FetchFileOptions = {}): Promise<string> {
    const { stream } = await this.fetchFile(path, options);
    return new TextDecoder().decode(await readAllBytes(stream, options.signal));
  }
}

/**
 * Checks a model-relative path and returns it in canonical form (`/`-separated, no `.` parts).
 * Absolute paths and `..` are refused, so a config cannot make a source read outside the model.
 */
export function normalizeModelPath(path: string, location: string): string {
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || parts.includes('..') || parts.length === 0) {
    throw new ModelSourceError(path, location, `Invalid model file path "${path}": expected a relative path inside the model, without "..".`);
  }
  return parts.join('/');
}
