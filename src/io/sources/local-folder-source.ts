import { openNodeFile, type ByteStream } from '../byte-source.js';
import { ModelFileNotFoundError, ModelSourceError } from '../errors.js';
import { BaseModelSource } from './model-source.js';

/** A model in a folder on the local disk (Node only; `node:fs` is imported on first use). */
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

  protected async open(path: string): Promise<ByteStream> {
    const full = this.pathOf(path);
    try {
      return await openNodeFile(full);
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ModelFileNotFoundError(path, this.dir, `The model folder ${this.dir} has no file "${path}".`, null, { cause });
      }
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ModelSourceError(path, this.dir, `Cannot read ${full}: ${reason}`, null, { cause });
    }
  }
}
