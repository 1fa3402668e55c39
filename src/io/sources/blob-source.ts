import { openByteSource } from '../byte-source.js';
import { ModelFileNotFoundError } from '../errors.js';
import { BaseModelSource, normalizeModelPath, type FileStat, type OpenedFile } from './model-source.js';

/**
 * A model whose files the page already holds as `Blob`s or `File`s (a directory picker, a drop),
 * keyed by path relative to the model root.
 */
export class BlobSource extends BaseModelSource {
  readonly id: string;
  private readonly files = new Map<string, Blob>();

  constructor(files: Map<string, Blob> | Record<string, Blob>, id = 'blobs') {
    super();
    this.id = id;
    const entries = files instanceof Map ? files.entries() : Object.entries(files);
    for (const [path, blob] of entries) this.files.set(normalizeModelPath(path, id), blob);
  }

  /**
   * Builds a source from a directory pick (`<input webkitdirectory>`): paths come from
   * `webkitRelativePath`, minus the picked folder's own name, which every path shares.
   */
  static fromFiles(files: Iterable<File>, id = 'files'): BlobSource {
    const list = [...files];
    const paths = list.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
    const top = paths[0]?.includes('/') ? paths[0].slice(0, paths[0].indexOf('/') + 1) : '';
    const shared = top !== '' && paths.every((p) => p.startsWith(top));
    const map = new Map<string, Blob>();
    list.forEach((file, i) => map.set(shared ? paths[i]!.slice(top.length) : paths[i]!, file));
    return new BlobSource(map, id);
  }

  /** The paths this source holds. */
  paths(): string[] {
    return [...this.files.keys()];
  }

  protected async open(path: string): Promise<OpenedFile> {
    return { ...(await openByteSource(this.blob(path))), origin: 'local' };
  }

  protected override async statPath(path: string): Promise<FileStat> {
    return { size: this.blob(path).size };
  }

  private blob(path: string): Blob {
    const blob = this.files.get(path);
    if (!blob) throw new ModelFileNotFoundError(path, this.id, `The selected files have no "${path}".`);
    return blob;
  }
}
