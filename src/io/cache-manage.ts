import { readAllBytes } from './byte-source.js';
import { defaultModelCache, REF_SUFFIX, type ModelCache } from './cache.js';
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
  /** The model's cache id: its source's `id` (a base URL; for the Hub the commit loaded, `hf/huggingface.co/owner/name@<commit>`). */
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
 * `owner/name@revision`. Hub files are stored under the commit a branch named when they were
 * loaded (`owner/name@<commit>`); `owner/name@main` deletes the commit `main` named at the last
 * load, and forgets that `main` named it.
 */
export async function deleteCachedModel(model: string, options: CacheManageOptions = {}): Promise<string[]> {
  const cache = options.cache ?? defaultModelCache();
  if (!cache.listModels || !cache.deleteModel) throw unsupported(cache, 'delete a model');
  const all = (await cache.listModels()).map((m) => m.id);
  const refs = await refsNamedBy(cache, all, model);
  const ids = all.filter((id) => matchesModel(id, model) || refs.some((r) => r.commitId === id));
  for (const id of ids) await cache.deleteModel(id);
  for (const r of refs) await cache.delete(r.key);
  return ids;
}

/**
 * For a query `owner/name@<branch>`: the stored refs (`hf/<host>/owner/name@<branch>%ref`, one per
 * Hub host the cache holds the repo from) and the cache id of the commit each names.
 */
async function refsNamedBy(cache: ModelCache, ids: string[], query: string): Promise<{ key: string; commitId: string }[]> {
  const at = query.lastIndexOf('@');
  if (at <= 0 || query.startsWith('hf/')) return [];
  const repo = query.slice(0, at);
  const hosts = new Set<string>();
  for (const id of ids) {
    const hub = HUB_ID.exec(id);
    if (hub && hub[2] === repo) hosts.add(hub[1]!);
  }
  const out: { key: string; commitId: string }[] = [];
  for (const host of hosts) {
    const key = `hf/${host}/${query}${REF_SUFFIX}`;
    const hit = await cache.get(key).catch(() => null);
    if (!hit) continue;
    const commit = new TextDecoder().decode(await readAllBytes(hit.stream, undefined, { maxBytes: 1024, file: key })).trim();
    if (commit) out.push({ key, commitId: `hf/${host}/${repo}@${commit}` });
  }
  return out;
}

/** A Hub cache id: `hf/<host>/<repo>@<revision or commit>`. */
const HUB_ID = /^hf\/([^/]+)\/(.+)@([^@/]+)$/;

/** Deletes every cached model. */
export async function clearModelCache(options: CacheManageOptions = {}): Promise<void> {
  const cache = options.cache ?? defaultModelCache();
  if (!cache.clear) throw unsupported(cache, 'be cleared');
  await cache.clear();
}

/** Whether the cache id `id` is what `query` names: the id itself, or a Hub `owner/name[@revision]`. */
export function matchesModel(id: string, query: string): boolean {
  if (id === query) return true;
  const hub = HUB_ID.exec(id);
  if (!hub) return false;
  return query === hub[2] || query === `${hub[2]}@${hub[3]}`;
}

function unsupported(cache: ModelCache, what: string): CacheError {
  const name = (cache as { constructor?: { name?: string } }).constructor?.name ?? 'this cache';
  return new CacheError('', `${name} cannot ${what}: listing, deleting and clearing models need a store that supports it (NodeFolderCache, OpfsModelCache, CacheStorageCache).`);
}
