import { CachedModelSource, defaultModelCache } from '../cache.js';
import { LocalFolderSource } from './local-folder-source.js';
import type { ModelSource } from './model-source.js';
import { resolveModelSource } from './resolve-source.js';

/**
 * The source an executor loads a named model from: remote models go through the download cache
 * (so a reload, e.g. after a device loss, does no network I/O); local folders are read in place.
 */
export async function cachedModelSource(nameOrPath: string): Promise<ModelSource> {
  const source = await resolveModelSource(nameOrPath);
  return source instanceof LocalFolderSource ? source : new CachedModelSource(source, defaultModelCache());
}
