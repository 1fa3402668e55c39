import type { ByteStream } from './byte-source.js';
import type { CacheLock, CacheWriteOptions, CacheWriter, ModelCache, PartialDownload } from './cache.js';
import type { CachedModelInfo } from './cache-manage.js';
import { MODEL_MARKER, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX } from './cache-node-list.js';
import { moveFile, openSink, readBlob, readText, removeQuietly, isNotFound, sliceStream, toOpfsError, writeText, type OpfsFileHandle, type OpfsSink, type OpfsWriteMode } from './cache-opfs-io.js';
import { encodeKeyPart } from './cache-key.js';
import { deleteOpfsModel, listOpfsModels, readMarker } from './cache-opfs-list.js';
import { CacheError, StorageQuotaError } from './errors.js';
import { storageAvailable, storagePersisted } from './storage-persist.js';
import { acquireWebLock, type WebLockOptions } from './web-lock.js';

/** Options of `OpfsModelCache`. */
export interface OpfsModelCacheOptions {
  /** The folder under the OPFS root that holds the cache. Default `omni-diffusion`. */
  dirName?: string;
  /** The OPFS root; default `navigator.storage.getDirectory()`. */
  root?: () => Promise<FileSystemDirectoryHandle>;
  /** Timing of the per-key Web Locks. */
  lock?: WebLockOptions;
  /**
   * How files are written (see `OpfsWriteMode`): `auto` (default) through sync access handles,
   * in a window through a writer worker, so that a closed tab or a full quota keeps the bytes
   * written for a resume; `writable` always `createWritable`.
   */
  write?: OpfsWriteMode;
}

interface PartialMeta {
  size: number | null;
  sha256: string | null;
  validator: string | null;
}

/**
 * Model files cached in the browser's Origin Private File System, written as they stream (a
 * 1.7 GB file never sits in memory) and read back as a stream of slices. The layout is the Node
 * folder cache's: one folder per `/`-part of the key (percent-encoded), `<file>%partial` with
 * `<file>%partial.json` (expected size, SHA-256, HTTP validator) while downloading, renamed to
 * `<file>` once checked, and `%model.json` in each model's folder for listing and deleting by
 * model. Interrupted downloads resume (`partial`). A Web Lock per key (`lock`) makes two tabs or
 * two elements loading one file download it once. Before a download of known size the need is
 * checked against `navigator.storage.estimate()` (`StorageQuotaError` with the bytes needed and
 * available; the partial bytes stay), and persistent storage is asked for once (`storagePersisted`).
 */
export class OpfsModelCache implements ModelCache {
  private top: Promise<FileSystemDirectoryHandle> | null = null;
  /** Sinks open on a sync handle, by key: the handle locks the file, so a resume reads its prefix through it. */
  private readonly sinks = new Map<string, OpfsSink>();
  readonly dirName: string;

  constructor(private readonly options: OpfsModelCacheOptions = {}) {
    this.dirName = options.dirName ?? 'omni-diffusion';
  }

  /** Whether this context has OPFS (a secure context in a browser that implements it). */
  static isSupported(): boolean {
    const storage = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator?.storage;
    return typeof storage?.getDirectory === 'function';
  }

  private root(key: string): Promise<FileSystemDirectoryHandle> {
    this.top ??= (async () => {
      const base = this.options.root ? await this.options.root() : await navigator.storage.getDirectory();
      return base.getDirectoryHandle(this.dirName, { create: true });
    })().catch(async (err: unknown) => {
      this.top = null;
      throw await toOpfsError(err, key, 'Opening the Origin Private File System failed (it needs a secure context: https or localhost)');
    });
    return this.top;
  }

  /** The folders from the cache root to `parts`' folder (created when asked), or null when missing. */
  private async chain(key: string, parts: string[], create: boolean): Promise<FileSystemDirectoryHandle[] | null> {
    const dirs = [await this.root(key)];
    for (const part of parts) {
      try {
        dirs.push(await dirs[dirs.length - 1]!.getDirectoryHandle(part, { create }));
      } catch (err) {
        if (!create && isNotFound(err)) return null;
        throw await toOpfsError(err, key, `Opening the cache folder of ${key} failed`);
      }
    }
    return dirs;
  }

  /** The folder chain and encoded file name of a key. */
  private async locate(key: string, create: boolean): Promise<{ dirs: FileSystemDirectoryHandle[]; dir: FileSystemDirectoryHandle; name: string } | null> {
    const parts = key.split('/').map(encodeKeyPart);
    const name = parts.pop()!;
    const dirs = await this.chain(key, parts, create);
    return dirs ? { dirs, dir: dirs[dirs.length - 1]!, name } : null;
  }

  async get(key: string): Promise<ByteStream | null> {
    const at = await this.locate(key, false);
    if (!at) return null;
    let file: File;
    try {
      file = await (await at.dir.getFileHandle(at.name)).getFile();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw await toOpfsError(err, key, `Reading ${key} from the cache failed`);
    }
    void this.markUsed(at.dirs);
    // A complete file is never written again, so one snapshot serves the whole read.
    return { stream: sliceStream((pos, n) => readBlob(file, pos, n), 0, file.size), size: file.size };
  }

  async partial(key: string): Promise<PartialDownload | null> {
    const at = await this.locate(key, false);
    if (!at) return null;
    let handle: FileSystemFileHandle;
    let bytes: number;
    try {
      handle = await at.dir.getFileHandle(at.name + PARTIAL_SUFFIX);
      bytes = (await handle.getFile()).size;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw await toOpfsError(err, key, `Reading the partial download of ${key} failed`);
    }
    let meta: PartialMeta = { size: null, sha256: null, validator: null };
    try {
      const read = JSON.parse((await readText(at.dir, at.name + PARTIAL_META_SUFFIX)) ?? '{}') as Partial<PartialMeta>;
      meta = { size: numberOrNull(read.size), sha256: stringOrNull(read.sha256), validator: stringOrNull(read.validator) };
    } catch {
      // No or unreadable metadata: the bytes cannot be trusted to resume, so the download restarts.
    }
    const read = async (pos: number, n: number): Promise<Uint8Array> => {
      const sink = this.sinks.get(key);
      if (sink?.read) return sink.read(pos, n);
      // A fresh File each time: a File goes stale once its file is written.
      return readBlob(await handle.getFile(), pos, n);
    };
    return { bytes, ...meta, open: () => Promise.resolve({ stream: sliceStream(read, 0, bytes), size: bytes }) };
  }

  async createWriter(key: string, size: number | null, options: CacheWriteOptions = {}): Promise<CacheWriter> {
    const offset = options.resumeFrom ?? 0;
    const needed = size === null ? null : size - offset;
    const at = await this.locate(key, true);
    const { dir, name } = at!;
    let sink: OpfsSink;
    try {
      if (options.model !== undefined && key.startsWith(`${options.model}/`)) await this.writeMarker(key, options.model);
      const handle = (await dir.getFileHandle(name + PARTIAL_SUFFIX, { create: true })) as OpfsFileHandle;
      if (offset > 0) {
        const stored = (await handle.getFile()).size;
        if (stored !== offset) throw new CacheError(key, `The partial download of ${key} holds ${stored} bytes, not the ${offset} being resumed.`);
      }
      if (needed !== null) await this.checkQuota(key, needed);
      // Asked once per page, not awaited: a browser may ask the user, and the download need not wait.
      void storagePersisted();
      const meta: PartialMeta = { size, sha256: options.sha256 ?? null, validator: options.validator ?? null };
      await writeText(dir, name + PARTIAL_META_SUFFIX, JSON.stringify(meta));
      sink = await openSink(handle, offset, this.options.write ?? 'auto');
    } catch (err) {
      throw await toOpfsError(err, key, `Creating the partial download of ${key} in the cache failed`, needed);
    }
    if (sink.read) this.sinks.set(key, sink);
    let written = offset;
    let open = true;
    const close = async (how: 'close' | 'abort') => {
      if (!open) return;
      open = false;
      if (this.sinks.get(key) === sink) this.sinks.delete(key);
      await (how === 'close' ? sink.close() : sink.abort());
    };
    return {
      write: async (chunk) => {
        try {
          await sink.write(chunk);
          written += chunk.byteLength;
        } catch (err) {
          // The bytes so far stay (a full quota keeps them for a resume); the caller suspends or drops.
          await close('close').catch(() => undefined);
          throw await toOpfsError(err, key, `Writing ${key} to the cache failed`, size === null ? null : size - written);
        }
      },
      commit: async () => {
        try {
          await close('close');
          await moveFile(dir, name + PARTIAL_SUFFIX, name);
          await removeQuietly(dir, name + PARTIAL_META_SUFFIX);
        } catch (err) {
          throw await toOpfsError(err, key, `Storing ${key} in the cache failed`);
        }
      },
      abort: async () => {
        await close('abort').catch(() => undefined);
        await removeQuietly(dir, name + PARTIAL_SUFFIX).catch(() => undefined);
        await removeQuietly(dir, name + PARTIAL_META_SUFFIX).catch(() => undefined);
      },
      suspend: () => close('close').catch(() => undefined),
    };
  }

  async delete(key: string): Promise<void> {
    const at = await this.locate(key, false);
    if (!at) return;
    try {
      for (const n of [at.name, at.name + PARTIAL_SUFFIX, at.name + PARTIAL_META_SUFFIX]) await removeQuietly(at.dir, n);
    } catch (err) {
      throw await toOpfsError(err, key, `Deleting ${key} from the cache failed`);
    }
  }

  /** A Web Lock named after the key, shared by every tab and worker of the origin. */
  lock(key: string, signal?: AbortSignal): Promise<CacheLock> {
    return acquireWebLock(`omni-diffusion:${this.dirName}:${key}`, key, signal, this.options.lock);
  }

  async listModels(): Promise<CachedModelInfo[]> {
    try {
      return await listOpfsModels(await this.root(''));
    } catch (err) {
      throw await toOpfsError(err, '', 'Listing the model cache failed');
    }
  }

  async deleteModel(id: string): Promise<void> {
    const names = id.split('/').map(encodeKeyPart);
    const dirs = await this.chain(id, names, false);
    if (!dirs) return;
    try {
      await deleteOpfsModel(dirs, names);
    } catch (err) {
      throw await toOpfsError(err, id, `Deleting the model ${id} from the cache failed`);
    }
  }

  async clear(): Promise<void> {
    for (const model of await this.listModels()) await this.deleteModel(model.id);
  }

  private async writeMarker(key: string, model: string): Promise<void> {
    const dirs = await this.chain(key, model.split('/').map(encodeKeyPart), true);
    const dir = dirs![dirs!.length - 1]!;
    if ((await readMarker(dir)) === null) await writeText(dir, MODEL_MARKER, JSON.stringify({ id: model, lastUsed: Date.now() }));
  }

  /** Records a read in the marker of the model holding a file (the deepest marker above it), for `lastUsed`. */
  private async markUsed(dirs: FileSystemDirectoryHandle[]): Promise<void> {
    try {
      for (let i = dirs.length - 1; i > 0; i--) {
        const marker = await readMarker(dirs[i]!);
        if (!marker) continue;
        await writeText(dirs[i]!, MODEL_MARKER, JSON.stringify({ ...marker, lastUsed: Date.now() }));
        return;
      }
    } catch {
      // Best effort: another reader may be writing the marker at the same moment.
    }
  }

  private async checkQuota(key: string, needed: number): Promise<void> {
    const available = await storageAvailable();
    if (available !== null && needed > available) {
      throw new StorageQuotaError(
        key,
        needed,
        available,
        `Storing ${key} needs ${needed} more bytes but this site's storage quota has ${available} free. The bytes so far are kept; free space with deleteCachedModel() or clearModelCache(), or free disk space.`,
      );
    }
  }
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
