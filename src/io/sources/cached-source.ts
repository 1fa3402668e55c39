import { CachedModelSource, defaultModelCache } from '../cache.js';
import { isCheckpointFileName } from '../single-file/pickle-guard.js';
import { openSingleFile } from '../single-file/open-single-file.js';
import { LocalFolderSource } from './local-folder-source.js';
import type { ModelSource } from './model-source.js';
import { resolveModelSource } from './resolve-source.js';

/** Options of `cachedModelSource`. */
export interface CachedModelSourceOptions {
  /**
   * For a single-file checkpoint: the diffusers repo (Hub id, URL or folder) whose configs,
   * tokenizer and scheduler go with its weights; null: the inferred architecture's published repo.
   */
  configFrom?: string | null;
}

/**
 * The source an executor loads a named model from: remote models go through the download cache
 * (so a reload, e.g. after a device loss, does no network I/O); local folders are read in place.
 * A name ending in `.safetensors` is a single-file checkpoint (see `openSingleFile`), whose file
 * and config repo are read the same way; one ending in `.ckpt`, `.pt`, `.pth` or `.bin` is refused.
 */
export async function cachedModelSource(nameOrPath: string, options: CachedModelSourceOptions = {}): Promise<ModelSource> {
  if (isCheckpointFileName(nameOrPath)) return openSingleFile(nameOrPath, { configFrom: options.configFrom ?? null, openRepo: (name) => cachedModelSource(name) });
  const source = await resolveModelSource(nameOrPath);
  return source instanceof LocalFolderSource ? source : new CachedModelSource(source, defaultModelCache());
}
