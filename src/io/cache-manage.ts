import { defaultModelCache, type ModelCache } from './cache.js';
import { CacheError } from './errors.js';

/** One file of a cached model. */
export interface CachedFileInfo {
  /** Path inside the model, e.g. `unet/diffusion_pytorch_model.safetensors`. */
  path: string;
  bytes: number;
  /** False for the bytes of an interrupted download, kept for a resume. */
  complete: boolean;
}

/** A model in the cache, as `listCachedModels` reports it. */
export interface CachedModelInfo {
  /** The model's cache id: its source's `id` (`hf/huggingface.co/owner/name@main`, a base URL). */
  id: string;
  files: CachedFileInfo[];
  /** Bytes of all its files, complete and partial. */
  bytes: number;
  /** When one of its files was last read from the cache (or stored), or null when unknown. */
  lastUsed: Date | null;
}

/** Options of the cache management functions. */
export interface CacheManageOptions {
  /** The store; default `defaultModelCache()` (the Node cache folder; in a browser OPFS, else Cache Storage). */
  cache?: ModelCache;
}

/** The models in the cache, most recently used first. */
export async function listCachedModels(options: CacheManageOptions = {}): Promise<CachedModelInfo[]> {
  const cache = options.cache ?? defaultModelCache();
  if (!cache.listModels) throw unsupported(cache, 'list its models');
  const models = await cache.listModels();
  return models.sort((a, b) => (b.lastUsed?.getTime() ?? 0) - (a.lastUsed?.getTime() ?? 0) || a.id.localeCompare(b.id));
}

/**
 * Deletes a cached model and resolves with the ids deleted (empty when none matched). `model` is
 * a cache id as `listCachedModels` gives it, or a Hub repo id (`owner/name`, every revision) or
 * `owner/name@revision`.
 */
export async function deleteCachedModel(model: string, options: CacheManageOptions = {}): Promise<string[]> {
  const cache = options.cache ?? defaultModelCache();
  if (!cache.listModels || !cache.deleteModel) throw unsupported(cache, 'delete a model');
  const ids = (await cache.listModels()).map((m) => m.id).filter((id) => matchesModel(id, model));
  for (const id of ids) await cache.deleteModel(id);
  return ids;
}

/** Deletes every cached model. */
export async function clearModelCache(options: CacheManageOptions = {}): Promise<void> {
  const cache = options.cache ?? defaultModelCache();
  if (!cache.clear) throw unsupported(cache, 'be cleared');
  await cache.clear();
}

/** Whether the cache id `id` is what `query` names: the id itself, or a Hub `owner/name[@revision]`. */
export function matchesModel(id: string, query: string): boolean {
  if (id === query) return true;
  const hub = /^hf\/[^/]+\/(.+)@([^@/]+)$/.exec(id);
  if (!hub) return false;
  return query === hub[1] || query === `${hub[1]}@${hub[2]}`;
}

function unsupported(cache: ModelCache, what: string): CacheError {
  const name = (cache as { constructor?: { name?: string } }).constructor?.name ?? 'this cache';
  return new CacheError('', `${name} cannot ${what}: listing, deleting and clearing models need a store that supports it (NodeFolderCache, OpfsModelCache, CacheStorageCache).`);
}
