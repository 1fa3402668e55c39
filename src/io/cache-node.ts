import type { ByteStream } from './byte-source.js';
import { openNodeFile } from './byte-source.js';
import type { CacheWriter, ModelCache } from './cache.js';
import { CacheError, CacheQuotaError } from './errors.js';

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

/** Model files cached in a folder on disk (Node). Writes go to a temporary file renamed on commit. */
export class NodeFolderCache implements ModelCache {
  private dir: string | null;

  /** `dir` defaults to `defaultCacheDir()`. */
  constructor(dir?: string) {
    this.dir = dir ?? null;
  }

  /** Where a key lives on disk: one folder level per `/`-part, each part percent-encoded. */
  async pathOf(key: string): Promise<string> {
    this.dir ??= await defaultCacheDir();
    const parts = key.split('/').map((p) => (p === '.' || p === '..' ? p.replace(/\./g, '%2E') : encodeURIComponent(p) || '%00'));
    return [this.dir, ...parts].join('/');
  }

  async get(key: string): Promise<ByteStream | null> {
    const path = await this.pathOf(key);
    try {
      return await openNodeFile(path);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw toCacheError(err, key, `Reading ${path} from the cache failed`);
    }
  }

  async createWriter(key: string): Promise<CacheWriter> {
    const fs = await import('node:fs/promises');
    const path = await this.pathOf(key);
    const temp = `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
    let handle: Awaited<ReturnType<typeof fs.open>>;
    try {
      await fs.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
      handle = await fs.open(temp, 'w');
    } catch (err) {
      throw toCacheError(err, key, `Creating ${temp} in the cache failed`);
    }
    const discard = async () => {
      await handle.close().catch(() => undefined);
      await fs.rm(temp, { force: true }).catch(() => undefined);
    };
    return {
      async write(chunk) {
        try {
          await handle.write(chunk);
        } catch (err) {
          await discard();
          throw toCacheError(err, key, `Writing ${temp} in the cache failed`);
        }
      },
      async commit() {
        try {
          await handle.close();
          await fs.rename(temp, path);
        } catch (err) {
          await discard();
          throw toCacheError(err, key, `Storing ${path} in the cache failed`);
        }
      },
      abort: discard,
    };
  }

  async delete(key: string): Promise<void> {
    const fs = await import('node:fs/promises');
    await fs.rm(await this.pathOf(key), { force: true });
  }
}

function toCacheError(err: unknown, key: string, what: string): CacheError {
  const code = (err as { code?: unknown }).code;
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CacheQuotaError(key, `${what}: the disk is full (${reason}). Free space or point OMNI_DIFFUSION_CACHE elsewhere.`, { cause: err });
  }
  return new CacheError(key, `${what}: ${reason}`, { cause: err });
}
