import type { ByteStream } from './byte-source.js';
import { CacheStorageCache } from './cache-storage.js';
import { NodeFolderCache } from './cache-node.js';
import { CacheError } from './errors.js';
import { BaseModelSource, type ModelSource } from './sources/model-source.js';

/** Receives one file's bytes; nothing is visible in the cache before `commit`. */
export interface CacheWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  /** Drops what was written (the download failed or was cancelled). */
  abort(): Promise<void>;
}

/**
 * A store of downloaded model files, keyed by `<source id>/<path>`. Implementations:
 * `CacheStorageCache` (browser Cache Storage) and `NodeFolderCache` (a folder on disk).
 * Errors are `CacheError`s; running out of space is a `CacheQuotaError`.
 */
export interface ModelCache {
  /** The cached file, or null on a miss. */
  get(key: string): Promise<ByteStream | null>;
  createWriter(key: string, size: number | null): Promise<CacheWriter>;
  delete(key: string): Promise<void>;
}

/** Cache Storage where the page has it (browsers, workers), else the Node cache folder. */
export function defaultModelCache(): ModelCache {
  return typeof globalThis.caches === 'undefined' ? new NodeFolderCache() : new CacheStorageCache();
}

/**
 * Serves files from `cache` when present; otherwise fetches them from `inner` and writes them
 * to the cache while they stream to the caller. A file enters the cache only once fully read,
 * so a cancelled or failed download leaves nothing behind. A cache write failure fails the read
 * (a `CacheQuotaError` when out of space) rather than being swallowed.
 */
export class CachedModelSource extends BaseModelSource {
  readonly id: string;

  constructor(
    readonly inner: ModelSource,
    readonly cache: ModelCache,
  ) {
    super();
    this.id = inner.id;
  }

  /** The cache key of a model path. */
  keyOf(path: string): string {
    return `${this.inner.id}/${path}`;
  }

  protected async open(path: string, signal: AbortSignal | undefined): Promise<ByteStream> {
    const key = this.keyOf(path);
    const hit = await this.cache.get(key);
    if (hit) return hit;
    const file = await this.inner.fetchFile(path, signal ? { signal } : {});
    let writer: CacheWriter;
    try {
      writer = await this.cache.createWriter(key, file.size);
    } catch (err) {
      await file.stream.cancel(err).catch(() => undefined);
      throw err;
    }
    return { stream: writeThrough(file, writer, key), size: file.size };
  }
}

function writeThrough(source: ByteStream, writer: CacheWriter, key: string): ReadableStream<Uint8Array> {
  const reader = source.stream.getReader();
  let written = 0;
  let settled = false;
  const settle = async (commit: boolean) => {
    if (settled) return;
    settled = true;
    if (commit) await writer.commit();
    else await writer.abort().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          await settle(true);
          controller.close();
          return;
        }
        await writer.write(value);
        written += value.byteLength;
        controller.enqueue(value);
      } catch (err) {
        await settle(false);
        reader.cancel(err).catch(() => undefined);
        controller.error(err instanceof CacheError ? err : wrapUnknown(err, key));
      }
    },
    async cancel(reason) {
      // A reader that stops right after the last byte of a file of known size (as the
      // safetensors reader does) has still seen the whole file: keep it.
      const complete = source.size !== null && written === source.size;
      // Not awaited, as a tee()d source settles its cancel only when all its branches cancel.
      reader.cancel(reason).catch(() => undefined);
      await settle(complete).catch(() => undefined);
    },
  });
}

function wrapUnknown(err: unknown, key: string): unknown {
  // Errors from the network side keep their own type; only anonymous failures become CacheErrors.
  return err instanceof Error ? err : new CacheError(key, `Caching ${key} failed: ${String(err)}`);
}
