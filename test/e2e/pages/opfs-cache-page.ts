import { CachedModelSource, OpfsModelCache, UrlSource, clearModelCache, deleteCachedModel, listCachedModels, storagePersisted } from '../../../src/index.js';
import type { CachedModelInfo } from '../../../src/index.js';
import { defaultModelCache, type ModelCache } from '../../../src/io/cache.js';

/** One file's load, as it crosses back to the test. */
export interface LoadResult {
  path: string;
  bytes: number;
  ms: number;
  origin: string | null;
  resumedBytes: number;
  errorName: string | null;
  error: string | null;
  needed: number | null;
  available: number | null;
}

const cache = () => new OpfsModelCache();

/** Loads `path` of the model at `base` through the OPFS cache, reading the stream to its end and keeping nothing. */
export function load(base: string, path: string): Promise<LoadResult> {
  return loadThrough(cache(), base, path);
}

/** The same through the store this page picks by default (`defaultModelCache()`). */
export function loadDefault(base: string, path: string): Promise<LoadResult> {
  return loadThrough(defaultModelCache(), base, path);
}

/** Hides OPFS from this page, as in a browser without it: the default store becomes Cache Storage. */
export function hideOpfs(): void {
  Object.defineProperty(StorageManager.prototype, 'getDirectory', { configurable: true, value: undefined });
}

/** The class of the default store. */
export const defaultStoreName = (): string => defaultModelCache().constructor.name;

async function loadThrough(store: ModelCache, base: string, path: string): Promise<LoadResult> {
  const source = new CachedModelSource(new UrlSource(base), store);
  const t0 = performance.now();
  let bytes = 0;
  let origin: string | null = null;
  let resumedBytes = 0;
  try {
    const file = await source.fetchFile(path, {
      onProgress: (p) => {
        origin = p.origin ?? origin;
        resumedBytes = p.resumedBytes ?? resumedBytes;
      },
    });
    const reader = file.stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
    return { path, bytes, ms: performance.now() - t0, origin, resumedBytes, errorName: null, error: null, needed: null, available: null };
  } catch (err) {
    const e = err as Error & { needed?: number | null; available?: number | null };
    return { path, bytes, ms: performance.now() - t0, origin, resumedBytes, errorName: e.name, error: e.message, needed: e.needed ?? null, available: e.available ?? null };
  }
}

/** `n` loads of one file at once, each through its own cache object (as two elements would). */
export function loadConcurrently(base: string, path: string, n: number): Promise<LoadResult[]> {
  return Promise.all(Array.from({ length: n }, () => load(base, path)));
}

/** Makes `navigator.storage.estimate()` report a nearly full quota (until `unstubQuota`). */
export function stubQuota(quota: number, usage: number): void {
  Object.defineProperty(navigator.storage, 'estimate', { configurable: true, value: () => Promise.resolve({ quota, usage }) });
}

export function unstubQuota(): void {
  delete (navigator.storage as { estimate?: unknown }).estimate;
}

/** JSON-safe `listCachedModels()`. */
export async function list(): Promise<Array<Omit<CachedModelInfo, 'lastUsed'> & { lastUsed: number | null }>> {
  return (await listCachedModels()).map((m) => ({ ...m, lastUsed: m.lastUsed?.getTime() ?? null }));
}

export const deleteModel = (model: string): Promise<string[]> => deleteCachedModel(model);
export const clear = (): Promise<void> => clearModelCache();
export const persisted = (): Promise<boolean | null> => storagePersisted();
export const isDefaultOpfs = (): boolean => defaultModelCache() instanceof OpfsModelCache;

/** The names left in the cache's OPFS folder (after `clear`: none). */
export async function opfsEntries(): Promise<string[]> {
  const root = await navigator.storage.getDirectory();
  const dir = (await root.getDirectoryHandle('omni-diffusion', { create: true })) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  const names: string[] = [];
  for await (const name of dir.keys()) names.push(name);
  return names;
}

let worker: Worker | null = null;
let nextId = 0;

/** Runs one of this module's functions in a dedicated worker (where OPFS files are written through sync access handles). */
export function inWorker(name: string, ...args: unknown[]): Promise<unknown> {
  worker ??= new Worker(new URL('./opfs-cache-worker.ts', import.meta.url), { type: 'module' });
  const id = nextId++;
  const w = worker;
  return new Promise((resolve, reject) => {
    const onMessage = (e: MessageEvent<{ id: number; result?: unknown; error?: string }>) => {
      if (e.data.id !== id) return;
      w.removeEventListener('message', onMessage);
      if (e.data.error !== undefined) reject(new Error(e.data.error));
      else resolve(e.data.result);
    };
    w.addEventListener('message', onMessage);
    w.postMessage({ id, name, args });
  });
}
