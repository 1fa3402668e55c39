import { readAllBytes, type ByteStream } from './byte-source.js';
import type { CachedModelInfo } from './cache-manage.js';
import { CacheStorageCache } from './cache-storage.js';
import { NodeFolderCache } from './cache-node.js';
import { OpfsModelCache } from './cache-opfs.js';
import { verifiedWriteThrough } from './download-stream.js';
import { ModelSourceError } from './errors.js';
import { BaseModelSource, type FileStat, type ModelSource, type OpenedFile } from './sources/model-source.js';
import { isPinnable, type PinnableModelSource } from './sources/pinnable-source.js';
import { supportsRange, type RangeResponse } from './sources/range-source.js';

/** Suffix of the key that remembers the commit a movable revision named at the last load. */
export const REF_SUFFIX = '%ref';

/** Receives one file's bytes; nothing is visible in the cache before `commit`. */
export interface CacheWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the file visible as complete. Call only once its size and hash have been checked. */
  commit(): Promise<void>;
  /** Drops what was written (the bytes are corrupt, or the store cannot resume). */
  abort(): Promise<void>;
  /**
   * Stops writing but keeps the bytes for a later resume (a network error, a cancelled load, a
   * full disk). Stores that cannot resume leave it out, and `abort` is used instead.
   */
  suspend?(): Promise<void>;
}

/** What `createWriter` is told of the file, kept with its partial bytes for a resume. */
export interface CacheWriteOptions {
  /** The model id (the source's `id`) the key belongs to, so the store can list and delete by model. */
  model?: string;
  /** Lower-case hex SHA-256 the server stated. */
  sha256?: string | null;
  /** A strong ETag or Last-Modified, sent back as `If-Range` on a resume. */
  validator?: string | null;
  /** Append to the partial bytes already stored, which must be this many (a resumed download); else start afresh. */
  resumeFrom?: number;
}

/** The bytes an interrupted download left in the store, and what is known of the whole file. */
export interface PartialDownload {
  bytes: number;
  size: number | null;
  sha256: string | null;
  validator: string | null;
  /** Reads the stored bytes (the first `bytes` of the file). */
  open(): Promise<ByteStream>;
}

/** A held lock on one key; `release` is idempotent. */
export interface CacheLock {
  release(): Promise<void>;
  /** The download moved bytes: keeps a lock that expires when its holder stalls from expiring. */
  touch?(): void;
}

/**
 * A store of downloaded model files, keyed by `<source id>/<path>`. Implementations:
 * `NodeFolderCache` (a folder on disk: resumable, locked, listable), `OpfsModelCache` (the
 * browser's Origin Private File System: resumable, Web Locks, listable) and `CacheStorageCache`
 * (browser Cache Storage, the fallback: all or nothing). Errors are `CacheError`s; running out of space is a
 * `CacheQuotaError` (`StorageQuotaError` with the bytes needed and available, where known).
 */
export interface ModelCache {
  /** The cached file, or null on a miss. */
  get(key: string): Promise<ByteStream | null>;
  createWriter(key: string, size: number | null, options?: CacheWriteOptions): Promise<CacheWriter>;
  delete(key: string): Promise<void>;
  /** Resumable stores: what an interrupted download of `key` left, or null. */
  partial?(key: string): Promise<PartialDownload | null>;
  /** Stores shared between processes or tabs: waits until this caller alone may write `key`. */
  lock?(key: string, signal?: AbortSignal): Promise<CacheLock>;
  /** The models in the store. */
  listModels?(): Promise<CachedModelInfo[]>;
  /** Deletes every file of the model with exactly this id (complete and partial). */
  deleteModel?(id: string): Promise<void>;
  /** Deletes every model. */
  clear?(): Promise<void>;
}

/**
 * The store for this runtime: in a browser (window or worker) the Origin Private File System,
 * else Cache Storage where OPFS is missing; in Node the cache folder.
 */
export function defaultModelCache(): ModelCache {
  if (OpfsModelCache.isSupported()) return new OpfsModelCache();
  return typeof globalThis.caches === 'undefined' ? new NodeFolderCache() : new CacheStorageCache();
}

/**
 * Serves files from `cache` when present; otherwise fetches them from `inner` and writes them
 * to the cache while they stream to the caller. A file enters the cache only once fully read and
 * checked: its size against the stated one, its SHA-256 when the server gives it (else the bytes
 * are deleted and the read fails with `CorruptDownloadError`). An interrupted download keeps its
 * bytes in a resumable store, and the next read resumes it with HTTP `Range` (its bytes then come
 * first from the store, then from the network). Where the store locks, two loads of one file
 * download it once: the second waits and reads the committed file. A cache write failure fails
 * the read (a `CacheQuotaError` when out of space) rather than being swallowed.
 *
 * A source whose revision can move (`PinnableModelSource`: a Hub branch) is pinned at the first
 * read to the commit the revision names then, and every file is keyed by and fetched from that
 * commit: a moved branch gets new entries, and this source reads one commit even if the branch
 * moves while it downloads (a new `CachedModelSource`, as each load makes, sees the move). The
 * commit is remembered under `<id>%ref`, so offline (the server unreachable or failing with a
 * 5xx) a cached model loads from the last known commit; a 4xx is never papered over.
 */
export class CachedModelSource extends BaseModelSource {
  readonly id: string;
  #bound: Promise<ModelSource> | null = null;
  #boundId: string | null = null;

  constructor(
    readonly inner: ModelSource,
    readonly cache: ModelCache,
  ) {
    super();
    this.id = inner.id;
  }

  /**
   * The cache key of a model path: the source id (a Hub id holds repo and revision; once the
   * first read has pinned it, the commit) and the path.
   */
  keyOf(path: string): string {
    return `${this.#boundId ?? this.inner.id}/${path}`;
  }

  /** The key remembering which commit the inner source's revision named at the last load. */
  refKey(): string {
    return this.inner.id + REF_SUFFIX;
  }

  /** The source files are read from: the inner one, pinned to a commit where it can be (once). */
  private bound(path: string, signal: AbortSignal | undefined): Promise<ModelSource> {
    const inner = this.inner;
    if (!isPinnable(inner)) return Promise.resolve(inner);
    if (!this.#bound) {
      const bound = this.pin(inner, path, signal).then((source) => {
        this.#boundId = source.id;
        return source;
      });
      this.#bound = bound;
      // A failed pin (offline with no ref, a missing file) is retried by the next read.
      bound.catch(() => this.#bound === bound && (this.#bound = null));
    }
    return this.#bound;
  }

  private async pin(inner: PinnableModelSource, path: string, signal: AbortSignal | undefined): Promise<ModelSource> {
    const stored = await this.readRef().catch(() => null);
    let commit: string;
    try {
      commit = await inner.resolveRevision({ path, ...(signal ? { signal } : {}) });
    } catch (err) {
      // Unreachable or failing server: the last known commit. A 4xx (missing, private, gated) is an answer.
      const offline = err instanceof ModelSourceError && (err.status === null || err.status >= 500) && !signal?.aborted;
      if (!offline || stored === null) throw err;
      try {
        return inner.atRevision(stored);
      } catch {
        throw err;
      }
    }
    const pinned = inner.atRevision(commit);
    if (pinned.id !== inner.id && stored !== commit) await this.writeRef(commit);
    return pinned;
  }

  private async readRef(): Promise<string | null> {
    const hit = await this.cache.get(this.refKey());
    if (!hit) return null;
    const text = new TextDecoder().decode(await readAllBytes(hit.stream, undefined, { maxBytes: 1024, file: this.refKey() })).trim();
    return text === '' ? null : text;
  }

  /** Best effort: a ref that cannot be stored only costs the offline fallback, never the load. */
  private async writeRef(commit: string): Promise<void> {
    const bytes = new TextEncoder().encode(commit);
    try {
      const writer = await this.cache.createWriter(this.refKey(), bytes.byteLength);
      try {
        await writer.write(bytes);
        await writer.commit();
      } catch {
        await writer.abort().catch(() => undefined);
      }
    } catch {
      // Nothing to undo.
    }
  }

  protected async open(path: string, signal: AbortSignal | undefined): Promise<OpenedFile> {
    // A plain source has nothing to pin: no await, so a read costs no extra turn.
    const source = isPinnable(this.inner) ? await this.bound(path, signal) : this.inner;
    const key = `${source.id}/${path}`;
    const hit = await this.cache.get(key);
    if (hit) return { ...hit, origin: 'cache' };
    const lock = this.cache.lock ? await this.cache.lock(key, signal) : null;
    try {
      if (lock) {
        // Another load may have stored the file while this one waited for the lock.
        const stored = await this.cache.get(key);
        if (stored) {
          await lock.release();
          return { ...stored, origin: 'cache' };
        }
      }
      const hooks = { onSettle: () => lock?.release() ?? Promise.resolve(), onActivity: () => lock?.touch?.() };
      return await this.download(source, path, key, signal, hooks);
    } catch (err) {
      await lock?.release();
      throw err;
    }
  }

  /** The stored size on a hit, else what the inner source says (nothing is downloaded). */
  protected override async statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    const source = await this.bound(path, signal);
    const hit = await this.cache.get(`${source.id}/${path}`);
    if (hit) {
      hit.stream.cancel().catch(() => undefined);
      return { size: hit.size };
    }
    return source.stat ? source.stat(path, signal ? { signal } : {}) : { size: null };
  }

  private async download(
    inner: ModelSource,
    path: string,
    key: string,
    signal: AbortSignal | undefined,
    hooks: { onSettle: () => Promise<void>; onActivity: () => void },
  ): Promise<OpenedFile> {
    const model = inner.id;
    if (!supportsRange(inner)) {
      const file = await inner.fetchFile(path, signal ? { signal } : {});
      const writer = await this.createWriter(key, file.size, { model }, file.stream);
      const expected = { size: file.size, sha256: null };
      const stream = verifiedWriteThrough({ body: file.stream, writer, key, path, location: model, expected, ...hooks, ...(signal ? { signal } : {}) });
      return { stream, size: file.size, origin: 'network' };
    }
    const partial = this.cache.partial ? await this.cache.partial(key) : null;
    const resumable = partial !== null && partial.bytes > 0 && (partial.validator !== null || partial.sha256 !== null);
    const start = resumable ? partial.bytes : 0;
    let response: RangeResponse;
    if (resumable && partial.size !== null && start === partial.size) {
      // Every byte is stored (the last load stopped before its check): check them, fetch nothing.
      const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      response = { stream: empty, offset: start, size: partial.size, sha256: partial.sha256, validator: partial.validator, location: model };
    } else {
      response = await inner.fetchRange(path, { start, ifRange: partial?.validator ?? null, ...(signal ? { signal } : {}) });
      if (response.offset > 0 && partial && partial.size !== null && response.size !== null && partial.size !== response.size) {
        // The validator matched but the size moved: trust neither, start afresh.
        response.stream.cancel().catch(() => undefined);
        response = await inner.fetchRange(path, { start: 0, ...(signal ? { signal } : {}) });
      }
    }
    const resumed = response.offset > 0 && partial ? response.offset : 0;
    // Opened before the writer appends, so it reads exactly the bytes stored so far.
    const prefix = resumed > 0 && partial ? await partial.open() : null;
    const options = { model, sha256: response.sha256, validator: response.validator, ...(resumed > 0 ? { resumeFrom: resumed } : {}) };
    const writer = await this.createWriter(key, response.size, options, response.stream, prefix?.stream);
    const expected = { size: response.size, sha256: response.sha256 };
    const stream = verifiedWriteThrough({
      ...(prefix ? { prefix: prefix.stream } : {}),
      body: response.stream,
      writer,
      key,
      path,
      location: response.location,
      expected,
      ...hooks,
      ...(signal ? { signal } : {}),
    });
    return { stream, size: response.size, origin: 'network', ...(resumed > 0 ? { resumedBytes: resumed } : {}) };
  }

  private async createWriter(
    key: string,
    size: number | null,
    options: CacheWriteOptions,
    ...streams: (ReadableStream<Uint8Array> | undefined)[]
  ): Promise<CacheWriter> {
    try {
      return await this.cache.createWriter(key, size, options);
    } catch (err) {
      for (const s of streams) s?.cancel(err).catch(() => undefined);
      throw err;
    }
  }
}
