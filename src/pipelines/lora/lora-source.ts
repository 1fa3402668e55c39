import type { ByteSource } from '../../io/byte-source.js';
import { createSha256 } from '../../io/hash.js';
import { cachedModelSource } from '../../io/sources/cached-source.js';
import type { LoraSource } from '../../api/request.js';

/** A LoRA's bytes, the name errors use, and the key its uploaded weights are cached under. */
export interface OpenedLora {
  readonly bytes: ByteSource;
  readonly file: string;
  readonly key: string;
}

/**
 * Opens a LoRA named by a request. A string is a URL (`https://…/x.safetensors`), a local file
 * path (Node: absolute or `./`), or a Hub path `owner/repo/path/in/repo.safetensors`; remote
 * files go through the download cache like model files. A `File`/`Blob` or bytes are read as
 * they are, keyed by their contents (a `File` by name, size and date), so a LoRA sent again
 * with the next request is not uploaded again.
 */
export async function openLora(source: LoraSource): Promise<OpenedLora> {
  if (typeof source === 'string') {
    const cut = source.lastIndexOf('/');
    if (/^https?:\/\//i.test(source) || /^(?:\/|\.{1,2}[\\/]|[A-Za-z]:[\\/]|~[\\/]|file:\/\/)/.test(source) || cut < 0) {
      const dir = cut < 0 ? '.' : source.slice(0, cut) || '/';
      const name = source.slice(cut + 1);
      const model = await cachedModelSource(/^https?:|^file:|^[\\/.~]|^[A-Za-z]:/.test(dir) ? dir : `./${dir}`);
      return { bytes: await model.fetchFile(name), file: source, key: `path:${source}` };
    }
    // owner/repo/path…: the repo through the Hub source, the rest as the file in it.
    const parts = source.split('/');
    const repo = parts.slice(0, 2).join('/');
    const path = parts.slice(2).join('/');
    const model = await cachedModelSource(repo);
    return { bytes: await model.fetchFile(path), file: source, key: `hub:${source}` };
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { bytes, file: 'lora.safetensors', key: await contentKey(bytes) };
  }
  const named = source as Blob & { name?: string; lastModified?: number };
  const file = named.name ?? 'lora.safetensors';
  if (named.name !== undefined) return { bytes: source, file, key: `file:${named.name}:${source.size}:${named.lastModified ?? 0}` };
  const bytes = new Uint8Array(await source.arrayBuffer());
  return { bytes, file, key: await contentKey(bytes) };
}

/** A key of the bytes themselves (SHA-256; their length where no hash is available). */
async function contentKey(bytes: Uint8Array): Promise<string> {
  const hash = await createSha256();
  // Without a hash the bytes cannot be told apart from others of their length: a key of their
  // own makes them upload once per request, never match another LoRA's weights.
  if (!hash) return `bytes:${bytes.byteLength}:unhashed:${Math.random()}`;
  hash.update(bytes);
  return `bytes:${hash.digestHex()}`;
}
