import { openNodeFile } from '../byte-source.js';
import { FileReadError, ModelFileNotFoundError, ModelSourceError } from '../errors.js';
import { BaseModelSource, type FileStat, type OpenedFile } from './model-source.js';

/**
 * A model in a folder on the local disk (Node only; `node:fs` is imported on first use). Only
 * regular files are read (symlinks to them too): anything else fails with `NotRegularFileError`.
 */
export class LocalFolderSource extends BaseModelSource {
  readonly id: string;
  readonly dir: string;

  constructor(dir: string) {
    super();
    this.dir = dir.replace(/[\\/]+$/, '') || dir;
    this.id = `file/${this.dir}`;
  }

  /** The file's path on disk. */
  pathOf(path: string): string {
    return `${this.dir}/${path}`;
  }

  protected async open(path: string): Promise<OpenedFile> {
    const full = this.pathOf(path);
    try {
      return { ...(await openNodeFile(full)), origin: 'local' };
    } catch (cause) {
      this.rethrow(cause, path, full);
    }
  }

  /** `fs.stat`: the size without opening the file. */
  protected override async statPath(path: string): Promise<FileStat> {
    const full = this.pathOf(path);
    const fs = await import('node:fs/promises');
    try {
      const stats = await fs.stat(full);
      return { size: stats.isFile() ? stats.size : null };
    } catch (cause) {
      this.rethrow(cause, path, full);
    }
  }

  private rethrow(cause: unknown, path: string, full: string): never {
    // Already typed and naming the path on disk (a FIFO, a device, a file cut short).
    if (cause instanceof FileReadError) throw cause;
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ModelFileNotFoundError(path, this.dir, `The model folder ${this.dir} has no file "${path}".`, null, { cause });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ModelSourceError(path, this.dir, `Cannot read ${full}: ${reason}`, null, { cause });
  }
}
