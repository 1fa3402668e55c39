import { readAllBytes, withProgress, type ByteProgress, type ByteStream, type ProgressCallback } from '../byte-source.js';
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

/** What `ModelSource.stat` tells of a file without reading it. */
export interface FileStat {
  /** Bytes, or null when the source cannot tell without reading the file. */
  size: number | null;
  /** Lower-case hex SHA-256 of the content, when the server states it (Hub LFS files). */
  sha256?: string;
}

/** A file as a source opened it, with where its bytes come from (see `ByteProgress.origin`). */
export interface OpenedFile extends ByteStream {
  origin?: ByteProgress['origin'];
  /** Bytes of an interrupted download that this read resumed from (they come from the cache). */
  resumedBytes?: number;
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
  /**
   * The file's size (and SHA-256 when the server states it) without reading it: a HEAD request
   * for URL and Hub sources, `fs.stat` for folders. Optional: callers must cope without it.
   * Throws `ModelFileNotFoundError` when the model has no such file.
   */
  stat?(path: string, options?: { signal?: AbortSignal }): Promise<FileStat>;
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
  protected abstract open(path: string, signal: AbortSignal | undefined): Promise<OpenedFile>;

  async fetchFile(path: string, options: FetchFileOptions = {}): Promise<ByteStream> {
    const checked = normalizeModelPath(path, this.id);
    const file = await this.open(checked, options.signal);
    const plain = { stream: file.stream, size: file.size };
    if (!options.onProgress) return plain;
    const tags = { ...(file.origin ? { origin: file.origin } : {}), ...(file.resumedBytes ? { resumedBytes: file.resumedBytes } : {}) };
    return { stream: withProgress(file.stream, checked, file.size, options.onProgress, tags), size: file.size };
  }

  async stat(path: string, options: { signal?: AbortSignal } = {}): Promise<FileStat> {
    return this.statPath(normalizeModelPath(path, this.id), options.signal);
  }

  /** `stat` of a checked path; by default opens the file for its size and reads nothing. */
  protected async statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    const file = await this.open(path, signal);
    // Not awaited: a tee()d body settles its cancel only once every branch is cancelled.
    file.stream.cancel().catch(() => undefined);
    return { size: file.size };
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
