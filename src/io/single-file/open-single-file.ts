import type { ModelSource } from '../sources/model-source.js';
import { refusePickleName } from './pickle-guard.js';
import { SingleFileSource } from './single-file-source.js';

/** Options of `openSingleFile`. */
export interface OpenSingleFileOptions {
  /** Hub id, URL or folder of the diffusers repo whose configs go with the weights; null: the inferred architecture's published repo. */
  configFrom: string | null;
  /** Opens a folder, URL base or Hub repo by name (the engine's cached sources). */
  openRepo: (nameOrPath: string) => Promise<ModelSource>;
  signal?: AbortSignal;
}

/**
 * Where a checkpoint named by path, URL or Hub file lives: the folder, URL base or Hub repo
 * (`owner/name`), and the file's path in it. A Hub file is `owner/name/path/to/file.safetensors`;
 * a name of fewer parts that is not a URL is a local path.
 */
export function splitCheckpointName(nameOrPath: string): { repo: string; path: string } {
  if (/^(?:https?|file):\/\//i.test(nameOrPath)) {
    const url = nameOrPath.replace(/[?#].*$/, '');
    const cut = url.lastIndexOf('/');
    return { repo: url.slice(0, cut), path: url.slice(cut + 1) };
  }
  const local = /^(?:\/|\.{1,2}[\\/]|[A-Za-z]:[\\/]|~[\\/])/.test(nameOrPath);
  const parts = nameOrPath.split(/[\\/]/);
  if (!local && parts.length >= 3 && !nameOrPath.includes('\\')) return { repo: parts.slice(0, 2).join('/'), path: parts.slice(2).join('/') };
  const cut = Math.max(nameOrPath.lastIndexOf('/'), nameOrPath.lastIndexOf('\\'));
  const dir = cut < 0 ? '.' : nameOrPath.slice(0, cut) || '/';
  // A relative folder gets its `./`, so that it is never taken for a Hub id.
  const repo = dir === '.' ? './' : local ? dir : `./${dir}`;
  return { repo, path: nameOrPath.slice(cut + 1) };
}

/**
 * Opens a single-file checkpoint named by local path, URL or Hub file (`owner/name/file.safetensors`)
 * as a diffusers repo (`SingleFileSource`). Pickle checkpoints (`.ckpt`, `.pt`, `.pth`, `.bin`)
 * fail with `CheckpointFormatError` before anything is read.
 */
export async function openSingleFile(nameOrPath: string, options: OpenSingleFileOptions): Promise<SingleFileSource> {
  refusePickleName(nameOrPath);
  const { repo, path } = splitCheckpointName(nameOrPath);
  const source = await options.openRepo(repo);
  const configFrom = options.configFrom ? await options.openRepo(options.configFrom) : null;
  return SingleFileSource.open({ source, path }, { configFrom, openRepo: options.openRepo, ...(options.signal ? { signal: options.signal } : {}) });
}
