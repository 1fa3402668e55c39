import type { FileHandle } from 'node:fs/promises';
import { encodeKeyPart } from './cache-key.js';
import type { ByteStream } from './byte-source.js';
import { openNodeFile } from './byte-source.js';
import type { CacheLock, CacheWriteOptions, CacheWriter, ModelCache, PartialDownload } from './cache.js';
import type { CachedModelInfo } from './cache-manage.js';
import { acquireFileLock, type FileLockOptions } from './cache-node-lock.js';
import { deleteModelDir, listModelsIn, LOCK_SUFFIX, MODEL_MARKER, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX } from './cache-node-list.js';
import { CacheError, StorageQuotaError } from './errors.js';

/**
 * The cache folder: `$OMNI_DIFFUSION_CACHE` when set, else `~/.cache/omni-diffusion`
 * (`$XDG_CACHE_HOME/omni-diffusion` when that is set).
 */
export async function defaultCacheDir(): Promise<string> {
  const env = process.env;
  if (env.OMNI_DIFFUSION_CACHE) return env.OMNI_DIFFUSION_CACHE;
  const os = await import('node:os');
  const path = await import('node:path');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'omni-diffusion');
}

/** Options of `NodeFolderCache`. */
export interface NodeFolderCacheOptions {
  /** Timing of the per-key lock files. */
  lock?: FileLockOptions;
}

/** What is kept next to partial bytes, to resume them or to refuse them. */
interface PartialMeta {
  size: number | null;
  sha256: string | null;
  validator: string | null;
}

/**
 * Model files cached in a folder on disk (Node). A download writes `<file>%partial` (with its
 * expected size, SHA-256 and HTTP validator in `<file>%partial.json`), renamed to `<file>` once
 * checked; an interrupted one leaves them for a resume. `<file>%lock` (created with `O_EXCL`)
 * makes concurrent loads of one file, in any process, download it once. Each model's folder has
 * a `%model.json` naming its id, for `listModels` and `deleteModel`. A full disk gives
 * `StorageQuotaError` with the bytes needed and available; it is also checked before a download
 * of known size starts.
 */
export class NodeFolderCache implements ModelCache {
  private dir: string | null;

  /** `dir` defaults to `defaultCacheDir()`. */
  constructor(
    dir?: string,
    private readonly options: NodeFolderCacheOptions = {},
  ) {
    this.dir = dir ?? null;
  }

  /** The cache folder. */
  async root(): Promise<string> {
    this.dir ??= await defaultCacheDir();
    return this.dir;
  }

  /** Where a key lives on disk: one folder level per `/`-part, each part percent-encoded. */
  async pathOf(key: string): Promise<string> {
    const parts = key.split('/').map(encodeKeyPart);
    return [await this.root(), ...parts].join('/');
  }

  async get(key: string): Promise<ByteStream | null> {
    const path = await this.pathOf(key);
    let file: ByteStream;
    try {
      file = await openNodeFile(path);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw toCacheError(err, key, `Reading ${path} from the cache failed`);
    }
    // The access time is the model's "last used" in listModels (noatime mounts skip implicit updates).
    void import('node:fs/promises').then((fs) => fs.stat(path).then((s) => fs.utimes(path, new Date(), s.mtime))).catch(() => undefined);
    return file;
  }

  async partial(key: string): Promise<PartialDownload | null> {
    const fs = await import('node:fs/promises');
    const path = await this.pathOf(key);
    const stats = await fs.stat(path + PARTIAL_SUFFIX).catch(() => null);
    if (!stats?.isFile()) return null;
    let meta: PartialMeta = { size: null, sha256: null, validator: null };
    try {
      const read = JSON.parse(await fs.readFile(path + PARTIAL_META_SUFFIX, 'utf8')) as Partial<PartialMeta>;
      meta = { size: numberOrNull(read.size), sha256: stringOrNull(read.sha256), validator: stringOrNull(read.validator) };
    } catch {
      // No or unreadable metadata: the bytes cannot be trusted to resume, so the download restarts.
    }
    return { bytes: stats.size, ...meta, open: () => openNodeFile(path + PARTIAL_SUFFIX) };
  }

  async createWriter(key: string, size: number | null, options: CacheWriteOptions = {}): Promise<CacheWriter> {
    const fs = await import('node:fs/promises');
    const path = await this.pathOf(key);
    const folder = path.slice(0, path.lastIndexOf('/'));
    const data = path + PARTIAL_SUFFIX;
    const metaPath = path + PARTIAL_META_SUFFIX;
    const offset = options.resumeFrom ?? 0;
    let handle: FileHandle;
    try {
      await fs.mkdir(folder, { recursive: true });
      if (options.model !== undefined && key.startsWith(`${options.model}/`)) await this.writeMarker(options.model);
      if (offset > 0) {
        const stored = await fs.stat(data).catch(() => null);
        if (stored?.size !== offset) throw new CacheError(key, `The partial download ${data} holds ${stored?.size ?? 0} bytes, not the ${offset} being resumed.`);
      }
      if (size !== null) await this.checkSpace(key, folder, size - offset);
      const meta: PartialMeta = { size, sha256: options.sha256 ?? null, validator: options.validator ?? null };
      await fs.writeFile(metaPath, JSON.stringify(meta));
      handle = await fs.open(data, offset > 0 ? 'a' : 'w');
    } catch (err) {
      throw toCacheError(err, key, `Creating ${data} in the cache failed`, size === null ? null : size - offset, await freeBytes(folder));
    }
    let written = offset;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => undefined);
    };
    return {
      write: async (chunk) => {
        try {
          await this.writeChunk(handle, chunk);
          written += chunk.byteLength;
        } catch (err) {
          // The bytes written so far stay (a full disk keeps them for a resume); the caller suspends or drops.
          await close();
          const stored = await fs.stat(data).then((s) => s.size, () => written);
          throw toCacheError(err, key, `Writing ${data} in the cache failed`, size === null ? null : size - stored, await freeBytes(folder));
        }
      },
      commit: async () => {
        try {
          await handle.close();
          closed = true;
          await fs.rename(data, path);
          await fs.rm(metaPath, { force: true });
        } catch (err) {
          await close();
          throw toCacheError(err, key, `Storing ${path} in the cache failed`);
        }
      },
      abort: async () => {
        await close();
        await fs.rm(data, { force: true }).catch(() => undefined);
        await fs.rm(metaPath, { force: true }).catch(() => undefined);
      },
      suspend: close,
    };
  }

  /** Writes one chunk at the end of the partial file; a test seam for a disk that fills up. */
  protected async writeChunk(handle: FileHandle, chunk: Uint8Array): Promise<void> {
    for (let done = 0; done < chunk.byteLength; ) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
      done += bytesWritten;
    }
  }

  async delete(key: string): Promise<void> {
    const fs = await import('node:fs/promises');
    const path = await this.pathOf(key);
    for (const p of [path, path + PARTIAL_SUFFIX, path + PARTIAL_META_SUFFIX]) await fs.rm(p, { force: true });
  }

  async lock(key: string, signal?: AbortSignal): Promise<CacheLock> {
    const path = await this.pathOf(key);
    const fs = await import('node:fs/promises');
    await fs.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true }).catch(() => undefined);
    return acquireFileLock(path + LOCK_SUFFIX, key, signal, this.options.lock);
  }

  async listModels(): Promise<CachedModelInfo[]> {
    return listModelsIn(await this.root());
  }

  async deleteModel(id: string): Promise<void> {
    await deleteModelDir(await this.pathOf(id), await this.root());
  }

  async clear(): Promise<void> {
    // Model by model, through their markers: a cache folder pointed at a folder holding other
    // files (OMNI_DIFFUSION_CACHE=$HOME by mistake) keeps them.
    for (const model of await this.listModels()) await this.deleteModel(model.id);
  }

  private async writeMarker(model: string): Promise<void> {
    const fs = await import('node:fs/promises');
    const dir = await this.pathOf(model);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(`${dir}/${MODEL_MARKER}`, JSON.stringify({ id: model }), { flag: 'wx' }).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    });
  }

  private async checkSpace(key: string, folder: string, needed: number): Promise<void> {
    const available = await freeBytes(folder);
    if (available !== null && needed > available) {
      throw new StorageQuotaError(key, needed, available, `Storing ${key} needs ${needed} more bytes but the disk of ${folder} has ${available} free. Free space or point OMNI_DIFFUSION_CACHE elsewhere.`);
    }
  }
}

/** Free bytes for this user on the file system of `folder`, or null when unknown. */
async function freeBytes(folder: string): Promise<number | null> {
  const fs = await import('node:fs/promises');
  if (typeof fs.statfs !== 'function') return null;
  return fs.statfs(folder).then(
    (s) => s.bavail * s.bsize,
    () => null,
  );
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function toCacheError(err: unknown, key: string, what: string, needed: number | null = null, available: number | null = null): CacheError {
  if (err instanceof CacheError) return err;
  const code = (err as { code?: unknown }).code;
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const numbers = `${needed === null ? '' : ` ${needed} more bytes needed`}${available === null ? '' : `${needed === null ? '' : ','} ${available} available`}`;
    return new StorageQuotaError(
      key,
      needed,
      available,
      `${what}: the disk is full (${reason});${numbers}. The bytes so far are kept and the next load resumes; free space or point OMNI_DIFFUSION_CACHE elsewhere.`,
      { cause: err },
    );
  }
  return new CacheError(key, `${what}: ${reason}`, { cause: err });
}
