import { ModelSourceError } from '../errors.js';
import { HubSource, type HubSourceOptions } from './hub-source.js';
import { LocalFolderSource } from './local-folder-source.js';
import type { ModelSource } from './model-source.js';
import { UrlSource } from './url-source.js';

/**
 * Picks the source for a `modelNameOrPath`: an `http(s)://` URL, a local folder (Node: an
 * absolute or `./` path, or an existing directory), else a Hugging Face Hub repo id.
 */
export async function resolveModelSource(nameOrPath: string, options: HubSourceOptions = {}): Promise<ModelSource> {
  if (/^https?:\/\//i.test(nameOrPath)) return new UrlSource(nameOrPath, options.fetch ? { fetch: options.fetch } : {});
  if (/^file:\/\//i.test(nameOrPath)) return new LocalFolderSource(decodeURIComponent(new URL(nameOrPath).pathname));
  if (/^(?:\/|\.{1,2}[\\/]|[A-Za-z]:[\\/]|~[\\/])/.test(nameOrPath)) return new LocalFolderSource(await expandHome(nameOrPath));
  if (isNode() && (await isDirectory(nameOrPath))) return new LocalFolderSource(nameOrPath);
  try {
    return new HubSource(nameOrPath, options);
  } catch (cause) {
    throw new ModelSourceError('', nameOrPath, `"${nameOrPath}" is neither a URL, a local folder, nor a Hugging Face repo id ("owner/name").`, null, {
      cause,
    });
  }
}

function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

async function isDirectory(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function expandHome(path: string): Promise<string> {
  if (!path.startsWith('~')) return path;
  const os = await import('node:os');
  return os.homedir() + path.slice(1);
}
