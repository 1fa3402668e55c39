import { responseBody, type ByteStream } from './byte-source.js';
import type { CacheWriteOptions, CacheWriter, ModelCache } from './cache.js';
import type { CachedModelInfo } from './cache-manage.js';
import { CacheError, CacheQuotaError } from './errors.js';

/** Cache Storage entries need http(s) URLs; this origin is never fetched, it only names entries. */
const KEY_ORIGIN = 'https://omni-diffusion.cache/';

/** Headers stored with each entry so the cache can be listed by model. */
const MODEL_HEADER = 'x-omni-model';
const STORED_HEADER = 'x-omni-stored';

/**
 * Model files cached in the browser's Cache Storage (`caches.open(name)`). Not resumable (an
 * entry is all or nothing) and not locked; it lists, deletes and clears by model through headers
 * stored with each entry (`lastUsed` is when the entry was stored: reads do not update it).
 */
export class CacheStorageCache implements ModelCache {
  private opened: Promise<Cache> | null = null;

  /** `storage` defaults to `globalThis.caches`. */
  constructor(
    readonly cacheName = 'omni-diffusion',
    private readonly storage: CacheStorage | undefined = globalThis.caches,
  ) {}

  private open(key: string): Promise<Cache> {
    if (!this.storage) {
      return Promise.reject(new CacheError(key, 'Cache Storage is not available here (it needs a secure context: https or localhost).'));
    }
    this.opened ??= this.storage.open(this.cacheName).catch((err: unknown) => {
      this.opened = null;
      throw toCacheError(err, key, `Opening the "${this.cacheName}" cache failed`);
    });
    return this.opened;
  }

  private requestOf(key: string): string {
    return KEY_ORIGIN + key.split('/').map(encodeURIComponent).join('/');
  }

  async get(key: string): Promise<ByteStream | null> {
    const cache = await this.open(key);
    const response = await cache.match(this.requestOf(key));
    if (!response?.body) return null;
    const length = Number(response.headers.get('content-length'));
    // Detached from the Response, which may be collected (and, in Node, its body cancelled) before the read.
    return { stream: responseBody(response), size: Number.isSafeInteger(length) && response.headers.has('content-length') ? length : null };
  }

  async createWriter(key: string, size: number | null, options: CacheWriteOptions = {}): Promise<CacheWriter> {
    const cache = await this.open(key);
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const writer = pipe.writable.getWriter();
    const headers: Record<string, string> = size === null ? {} : { 'content-length': String(size) };
    if (options.model !== undefined && key.startsWith(`${options.model}/`)) {
      headers[MODEL_HEADER] = encodeURIComponent(options.model);
      headers[STORED_HEADER] = new Date().toISOString();
    }
    const put = cache.put(this.requestOf(key), new Response(pipe.readable, { headers }));
    // put() settles only after the whole body is read; a quota failure shows up there, and
    // writes must not wait forever on a body nobody reads any more.
    const putFailed = put.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => Promise.reject(toCacheError(err, key, `Storing ${key} in Cache Storage failed`)),
    );
    putFailed.catch(() => undefined);
    const guard = async (step: Promise<void>, what: string) => {
      try {
        await Promise.race([step, putFailed]);
      } catch (err) {
        // A failed write means the body errored, so put() is about to settle: prefer its reason.
        const putErr = await put.then(
          () => null,
          (e: unknown) => e,
        );
        throw toCacheError(putErr ?? err, key, what);
      }
    };
    return {
      write: (chunk) => guard(writer.write(chunk), `Writing ${key} to Cache Storage failed`),
      async commit() {
        await guard(writer.close(), `Storing ${key} in Cache Storage failed`);
        try {
          await put;
        } catch (err) {
          throw toCacheError(err, key, `Storing ${key} in Cache Storage failed`);
        }
      },
      async abort() {
        await writer.abort(new CacheError(key, 'download abandoned')).catch(() => undefined);
        await put.catch(() => undefined);
      },
    };
  }

  async delete(key: string): Promise<void> {
    const cache = await this.open(key);
    await cache.delete(this.requestOf(key));
  }

  async listModels(): Promise<CachedModelInfo[]> {
    const models = new Map<string, CachedModelInfo>();
    for (const { request, model, response } of await this.entries()) {
      const info = models.get(model) ?? { id: model, files: [], bytes: 0, lastUsed: null };
      models.set(model, info);
      const key = new URL(request.url).pathname.slice(1).split('/').map(decodeURIComponent).join('/');
      const bytes = Number(response.headers.get('content-length') ?? 0) || 0;
      info.files.push({ path: key.slice(model.length + 1), bytes, complete: true });
      info.bytes += bytes;
      const stored = Date.parse(response.headers.get(STORED_HEADER) ?? '');
      if (Number.isFinite(stored) && (info.lastUsed === null || stored > info.lastUsed.getTime())) info.lastUsed = new Date(stored);
    }
    return [...models.values()];
  }

  async deleteModel(id: string): Promise<void> {
    const cache = await this.open(id);
    for (const entry of await this.entries()) if (entry.model === id) await cache.delete(entry.request);
  }

  async clear(): Promise<void> {
    for (const model of await this.listModels()) await this.deleteModel(model.id);
  }

  /** Every entry stored with a model id (entries of older versions have none and are left alone). */
  private async entries(): Promise<{ request: Request; model: string; response: Response }[]> {
    const cache = await this.open('');
    const out: { request: Request; model: string; response: Response }[] = [];
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const model = response?.headers.get(MODEL_HEADER);
      // The body is not read: only the headers matter. Not awaited: a tee()d body settles its
      // cancel only once every branch is cancelled.
      response?.body?.cancel().catch(() => undefined);
      if (response && model) out.push({ request, model: decodeURIComponent(model), response });
    }
    return out;
  }
}

function toCacheError(err: unknown, key: string, what: string): CacheError {
  if (err instanceof CacheError) return err;
  const name = (err as { name?: unknown }).name;
  const reason = err instanceof Error ? err.message : String(err);
  if (name === 'QuotaExceededError') {
    return new CacheQuotaError(key, `${what}: the browser's storage quota is exhausted (${reason}). Free site storage or load without a cache.`, {
      cause: err,
    });
  }
  return new CacheError(key, `${what}: ${reason}`, { cause: err });
}
