import { readAllBytes, withProgress, type ByteStream, type ProgressCallback } from '../byte-source.js';
import { FileTooLargeError, ModelSourceError } from '../errors.js';

/**
 * Default cap of `readText`: CLIP's `vocab.json` is 0.96 MB, its `merges.txt` 0.5 MB, and the
 * largest `tokenizer.json` files on the Hub about 35 MB.
 */
export const MAX_TEXT_FILE_BYTES = 64 << 20;

/**
 * Cap for config files (`config.json`, `model_index.json`, `scheduler_config.json`,
 * `tokenizer_config.json`): they are a few KB; 16 MiB leaves room for the largest
 * `tokenizer_config.json` files (long added-token tables, chat templates) of any model family.
 */
export const MAX_CONFIG_FILE_BYTES = 16 << 20;

/** Options of `ModelSource.fetchFile` and `readText`. */
export interface FetchFileOptions {
  /** Byte progress of this file: `loaded` and the size when the source knows it. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /**
   * `readText` only: the largest file it reads, default `MAX_TEXT_FILE_BYTES`. A larger file
   * fails with `FileTooLargeError`, before any read when the source states the size.
   */
  maxBytes?: number;
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
  /** Reads a whole file as UTF-8 text, up to `options.maxBytes` (`FileTooLargeError` past it). */
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
    const { stream, size } = await this.fetchFile(path, options);
    const checked = normalizeModelPath(path, this.id);
    const limit = { maxBytes: options.maxBytes ?? MAX_TEXT_FILE_BYTES, file: this.id.endsWith('/') ? this.id + checked : `${this.id}/${checked}` };
    if (size !== null && size > limit.maxBytes) {
      // Not awaited: a tee()d body settles its cancel only once every branch is cancelled.
      stream.cancel().catch(() => undefined);
      throw new FileTooLargeError(limit.file, size, limit.maxBytes);
    }
    return new TextDecoder().decode(await readAllBytes(stream, options.signal, limit));
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
